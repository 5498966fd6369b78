import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { numberToHex } from "viem";
import { startAnvil, type RunningAnvil } from "../src/chain/anvil";
import { createChainClient } from "../src/chain/client";
import { PinnedBlockGoneError, readAt } from "../src/chain/pinned-read";
import { receivedCount, startLaggingRpc } from "./helpers/faulty-rpc";

// Reads through a proxy that answers like a load balancer's backend one block behind the node that served the head.
describe("a node behind a block the client was served (a load balancer's lagging backend)", () => {
  let anvil: RunningAnvil;
  const account = "0x000000000000000000000000000000000000bEEF";
  const word = `0x${"ab".repeat(32)}` as const;
  const headerNotFound = { error: { code: -32000, message: "header not found" } };
  before(async () => {
    anvil = await startAnvil();
    const client = createChainClient({ chainId: anvil.chainId, rpcUrls: [anvil.rpcUrl] });
    await client.request({ method: "anvil_setStorageAt", params: [account, "0x0", word] } as never);
    await client.request({ method: "anvil_setBalance", params: [account, "0x2a"] } as never);
    await client.request({ method: "evm_mine", params: [] } as never);
  });
  after(() => anvil.stop());

  /** A client of a proxy that answers `times` storage or balance reads as a node without the block. */
  async function laggingClient(times: number) {
    const rpc = await startLaggingRpc(
      anvil.rpcUrl,
      times,
      (call) => call.method === "eth_getStorageAt" || call.method === "eth_getBalance",
      headerNotFound,
    );
    return { rpc, client: createChainClient({ chainId: anvil.chainId, rpcUrls: [rpc.url] }) };
  }

  it("a state read at the served block's hash is asked again until the node knows it", async () => {
    const { rpc, client } = await laggingClient(2);
    try {
      const head = await client.getBlock();
      assert.equal(await readAt(client, head, "eth_getStorageAt", [account, "0x0"]), word);
      assert.equal(receivedCount(rpc), 1 + 3);
    } finally {
      await rpc.close();
    }
  });

  it("so is a read by the served block's number, as proposal statuses and policy checks make", async () => {
    const { rpc, client } = await laggingClient(2);
    try {
      const head = await client.getBlock();
      assert.equal(await client.getBalance({ address: account, blockNumber: head.number }), 42n);
      assert.equal(receivedCount(rpc), 1 + 3);
    } finally {
      await rpc.close();
    }
  });

  it("a served block number answered null (the reorg check after a scan) is asked again", async () => {
    const head = await createChainClient({ chainId: anvil.chainId, rpcUrls: [anvil.rpcUrl] }).getBlock();
    const rpc = await startLaggingRpc(
      anvil.rpcUrl,
      1,
      (call) => call.method === "eth_getBlockByNumber" && call.params![0] === numberToHex(head.number),
      { result: null },
    );
    try {
      const client = createChainClient({ chainId: anvil.chainId, rpcUrls: [rpc.url] });
      await client.getBlock();
      assert.equal((await client.getBlock({ blockNumber: head.number })).hash, head.hash);
      assert.equal(receivedCount(rpc), 1 + 2);
    } finally {
      await rpc.close();
    }
  });

  it("a block the client was never served is answered at once: a deployment search's probes do not wait", async () => {
    const head = await createChainClient({ chainId: anvil.chainId, rpcUrls: [anvil.rpcUrl] }).getBlock();
    const { rpc, client } = await laggingClient(1);
    try {
      await assert.rejects(client.getBalance({ address: account, blockNumber: head.number }), /header not found/);
      assert.equal(receivedCount(rpc), 1);
    } finally {
      await rpc.close();
    }
  });

  it("a served block still unknown after the waits is gone: the run stops with the reason, not a value of another block", async () => {
    const { rpc, client } = await laggingClient(10);
    try {
      const head = await client.getBlock();
      await assert.rejects(
        readAt(client, head, "eth_getStorageAt", [account, "0x0"]),
        (error) =>
          error instanceof PinnedBlockGoneError &&
          /no longer served by the RPC: a reorg replaced it/.test(error.message),
      );
      // The first ask and one after each of the three waits.
      assert.equal(receivedCount(rpc), 1 + 4);
    } finally {
      await rpc.close();
    }
  });
});
