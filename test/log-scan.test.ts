import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  createPublicClient,
  getAbiItem,
  http,
  numberToHex,
  ResponseBodyTooLargeError,
  RpcRequestError,
  toEventSelector,
  type AbiEvent,
  type Address,
  type Hex,
} from "viem";
import { dstackKmsAbi } from "../src/chain/abis";
import { startAnvil, type RunningAnvil } from "../src/chain/anvil";
import { chainDefinition, createChainClient } from "../src/chain/client";
import { rangeRefusalOf, scanLogs, type DecodedLog } from "../src/chain/logs";
import { receivedCount, startFaultyRpc, startLaggingRpc, type RangeRefusalStyle } from "./helpers/faulty-rpc";

const refusal = (code: number, message: string) =>
  rangeRefusalOf(new RpcRequestError({ body: {}, url: "http://rpc", error: { code, message } }));

describe("range refusals as real providers word them", () => {
  it("reads the workable range a provider names", () => {
    assert.deepEqual(
      refusal(-32005, "query returned more than 10000 results. Try with this block range [0x2ee0, 0x3a97]."),
      { kind: "results", workableSize: 3000n },
    );
    assert.deepEqual(
      refusal(
        -32602,
        "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x0, 0x7cf]",
      ),
      { kind: "results", workableSize: 2000n },
    );
    assert.deepEqual(refusal(-32000, "exceed maximum block range: 50000"), { kind: "blocks", workableSize: 49_999n });
    assert.deepEqual(refusal(-32602, "eth_getLogs is limited to a 10,000 range"), {
      kind: "blocks",
      workableSize: 9_999n,
    });
    assert.deepEqual(refusal(-32600, "ranges over 10000 blocks are not supported on freetier"), {
      kind: "blocks",
      workableSize: 9_999n,
    });
    assert.deepEqual(refusal(-32000, "block range is too wide"), { kind: "blocks" });
    assert.deepEqual(refusal(-32005, "query returned more than 10000 results"), { kind: "results" });
    // viem's own refusal of an answer over its size limit.
    assert.deepEqual(rangeRefusalOf(new ResponseBodyTooLargeError({ maxSize: 10_485_760, size: 12_000_000 })), {
      kind: "results",
    });
  });

  it("a rate limit, a revert or a node behind the head is not a range refusal", () => {
    assert.equal(refusal(-32005, "daily request count exceeded, request rate limited"), undefined);
    assert.equal(refusal(429, "Too Many Requests"), undefined);
    assert.equal(refusal(3, "execution reverted"), undefined);
    assert.equal(refusal(-32000, "header not found"), undefined);
    // A node behind the head, as geth and a public gateway word it.
    assert.equal(refusal(-32602, "block range extends beyond current head block"), undefined);
    assert.equal(
      refusal(-32000, "block 50162452 is beyond the latest block 50162448 of this node, retry later"),
      undefined,
    );
  });
});

describe("parallel adaptive eth_getLogs scan of 1,000,000 blocks (anvil --number 1000000)", () => {
  let anvil: RunningAnvil;
  const blocks = 1_000_000n;
  const events = [getAbiItem({ abi: dstackKmsAbi, name: "OsImageHashAdded" }) as AbiEvent];
  const emitter: Address = "0x000000000000000000000000000000000000bEEF";
  /** Runtime code emitting `count` OsImageHashAdded logs per call, each naming a distinct hash (index + 256 × block). */
  const emitterCode = (count: number): Hex =>
    `0x60${count.toString(16).padStart(2, "0")}5b80436101000201600052${`7f${toEventSelector(events[0]).slice(2)}`}60206000a160019003806002570000` as Hex;
  /** The head once `emitter` has logged 40 hashes in each of the 6 blocks after the first. */
  let head: bigint;
  /** Every log of `emitter`, scanned straight from anvil. */
  let emitted: DecodedLog[];
  const emitterScan = () => ({ addresses: [emitter], events, fromBlock: 0n, toBlock: head });

  before(async () => {
    anvil = await startAnvil({ number: blocks });
    const rpcCall = async (method: string, params: unknown[]) => {
      const response = await fetch(anvil.rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
      return ((await response.json()) as { result: string }).result;
    };
    await rpcCall("anvil_setCode", [emitter, emitterCode(40)]);
    const sender = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    // One call per block: each waits for the last one's receipt, as automine may put two sent at once in one block.
    for (let i = 0; i < 6; i++) {
      const hash = await rpcCall("eth_sendTransaction", [{ from: sender, to: emitter, gas: numberToHex(5_000_000) }]);
      while (!(await rpcCall("eth_getTransactionReceipt", [hash]))) await new Promise((r) => setTimeout(r, 5));
    }
    head = BigInt(await rpcCall("eth_blockNumber", []));
    emitted = await scanLogs(createChainClient({ chainId: anvil.chainId, rpcUrls: [anvil.rpcUrl] }), emitterScan());
    assert.equal(new Set(emitted.map((log) => log.args.osImageHash)).size, 240);
  });
  after(() => anvil.stop());

  /** Scans [0, head] through a proxy refusing ranges over `cap` blocks; returns what the RPC received. */
  async function scanThrough(cap: number | undefined, style: RangeRefusalStyle, concurrency?: number) {
    const rpc = await startFaultyRpc({
      upstream: anvil.rpcUrl,
      seed: 1,
      failureRate: 0,
      logRangeCap: cap ? { blocks: cap, style } : undefined,
    });
    try {
      const client = createChainClient({ chainId: anvil.chainId, rpcUrls: [rpc.url] });
      const logs = await scanLogs(client, {
        addresses: ["0x0000000000000000000000000000000000000001"],
        events,
        fromBlock: 0n,
        toBlock: blocks,
        concurrency,
      });
      assert.deepEqual(logs, []);
      const ranges = rpc.forwarded
        .filter((c) => c.method === "eth_getLogs")
        .map((c) => c.params![0] as { fromBlock: string; toBlock: string });
      // Every block asked for exactly once, in ranges the RPC accepted.
      const covered = ranges
        .map((r) => [BigInt(r.fromBlock), BigInt(r.toBlock)] as const)
        .sort((a, b) => (a[0] < b[0] ? -1 : 1));
      covered.forEach(([from, to], i) => {
        assert.equal(from, i === 0 ? 0n : covered[i - 1][1] + 1n);
        if (cap) assert.ok(to - from + 1n <= BigInt(cap));
      });
      assert.equal(covered.at(-1)![1], blocks);
      return { requests: receivedCount(rpc), refused: rpc.refusedRanges };
    } finally {
      await rpc.close();
    }
  }

  it("an answer over the client's size limit is asked again in smaller ranges, not failed", async () => {
    // One block's 40 logs (about 20 kB) fit under a 30 kB limit; the 240 of the whole chain (about 120 kB) do not.
    const rpc = await startFaultyRpc({ upstream: anvil.rpcUrl, seed: 1, failureRate: 0 });
    try {
      const limited = createPublicClient({
        chain: chainDefinition(anvil.chainId, [rpc.url]),
        transport: http(rpc.url, { maxResponseBodySize: 30_000, retryCount: 0 }),
      });
      assert.deepEqual(await scanLogs(limited, emitterScan()), emitted);
      assert.ok(rpc.received.eth_getLogs > 2, `${rpc.received.eth_getLogs} eth_getLogs requests: no range was refused`);
    } finally {
      await rpc.close();
    }
  });

  it("a node behind the served head (a load balancer's lagging backend) is waited for: its range is neither halved nor taken for a cap", async () => {
    const last = numberToHex(head);
    // Twice, as geth, op-geth and reth answer a range past their head.
    const rpc = await startLaggingRpc(
      anvil.rpcUrl,
      2,
      (call) => call.method === "eth_getLogs" && (call.params![0] as { toBlock: string }).toBlock === last,
      { error: { code: -32602, message: "block range extends beyond current head block" } },
    );
    try {
      const client = createChainClient({ chainId: anvil.chainId, rpcUrls: [rpc.url] });
      // As a read pins its block first: the client knows the block exists.
      await client.getBlock({ blockNumber: head });
      assert.deepEqual(await scanLogs(client, emitterScan()), emitted);
      const ranges = rpc.forwarded
        .filter((c) => c.method === "eth_getLogs")
        .map((c) => c.params![0] as { fromBlock: string; toBlock: string });
      // The whole range, answered on its third ask.
      assert.deepEqual(
        ranges.map((r) => [r.fromBlock, r.toBlock]),
        [[numberToHex(0), last]],
      );
      assert.equal(receivedCount(rpc), 1 + 3);
    } finally {
      await rpc.close();
    }
  });

  it("a node too slow for a wide range (no cap, the client times out) is asked for smaller ranges, not the same one again", async () => {
    const wide = 300_000n;
    /** The size of every range asked for, in order. */
    const sizes: bigint[] = [];
    // Answers ranges over 300,000 blocks after the client has given up on them (400 ms).
    const rpc = await startFaultyRpc({
      upstream: anvil.rpcUrl,
      seed: 1,
      failureRate: 0,
      intercept: async (call) => {
        if (call.method !== "eth_getLogs") return call;
        const range = call.params![0] as { fromBlock: string; toBlock: string };
        sizes.push(BigInt(range.toBlock) - BigInt(range.fromBlock) + 1n);
        if (sizes.at(-1)! > wide) await new Promise((resolve) => setTimeout(resolve, 1_500));
        return call;
      },
    });
    try {
      const client = createChainClient({ chainId: anvil.chainId, rpcUrls: [rpc.url], timeoutMs: 400 });
      assert.deepEqual(await scanLogs(client, emitterScan()), emitted);
      // The whole chain, then its half, each timed out once; then quarters.
      assert.deepEqual(sizes.slice(0, 3), [head + 1n, (head + 1n) / 2n, (head + 1n) / 4n]);
      const timedOut = sizes.filter((size) => size > wide);
      assert.equal(new Set(timedOut).size, timedOut.length, `a timed-out size asked again: ${sizes.join(", ")}`);
      assert.ok(sizes.length <= 10, `${sizes.length} eth_getLogs requests: ${sizes.join(", ")}`);
    } finally {
      await rpc.close();
    }
  });

  it("without a cap, the whole chain is one request", async () => {
    assert.deepEqual(await scanThrough(undefined, "geth"), { requests: 1, refused: 0 });
  });

  for (const [cap, style] of [
    [10_000, "infura"],
    [10_000, "geth"],
    [10_000, "quicknode"],
    [2_000, "alchemy"],
    [10_000, "bare"],
    [2_000, "bare"],
  ] as const) {
    it(`a ${cap}-block cap worded as ${style} costs at most 5% + 15 requests over ceil(blocks / cap), none retried`, async () => {
      const floor = Math.ceil(Number(blocks + 1n) / cap);
      const { requests, refused } = await scanThrough(cap, style);
      assert.ok(requests <= 1.05 * floor + 15, `${requests} requests (${refused} refused) for ${floor} ranges`);
      assert.ok(refused >= 1);
    });
  }
});
