import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { keccak256, stringToHex } from "viem";
import { startAnvil, type RunningAnvil } from "../src/chain/anvil";
import { createChainClient } from "../src/chain/client";
import { PinnedBlockGoneError, readAt, whenKnown } from "../src/chain/pinned-read";
import { receivedCount, startLaggingRpc } from "./helpers/faulty-rpc";

describe("state reads pinned to a block's hash", () => {
  let anvil: RunningAnvil;
  const account = "0x000000000000000000000000000000000000bEEF";
  const word = `0x${"ab".repeat(32)}` as const;
  before(async () => {
    anvil = await startAnvil();
    const client = createChainClient({ chainId: anvil.chainId, rpcUrls: [anvil.rpcUrl] });
    await client.request({ method: "anvil_setStorageAt", params: [account, "0x0", word] } as never);
    await client.request({ method: "evm_mine", params: [] } as never);
  });
  after(() => anvil.stop());

  it("a node that does not know the block yet (a load balancer's lagging backend) is waited for", async () => {
    const head = await createChainClient({ chainId: anvil.chainId, rpcUrls: [anvil.rpcUrl] }).getBlock();
    // Twice, as geth answers a block hash it does not have.
    const rpc = await startLaggingRpc(anvil.rpcUrl, 2, (call) => call.method === "eth_getStorageAt", {
      error: { code: -32000, message: "header not found" },
    });
    try {
      const client = createChainClient({ chainId: anvil.chainId, rpcUrls: [rpc.url] });
      assert.equal(await readAt(client, head, "eth_getStorageAt", [account, "0x0"]), word);
      assert.equal(receivedCount(rpc), 3);
    } finally {
      await rpc.close();
    }
  });

  it("a block number the node answers null for (it is behind) is asked again: the reorg check after a scan reads it so", async () => {
    const head = await createChainClient({ chainId: anvil.chainId, rpcUrls: [anvil.rpcUrl] }).getBlock();
    const rpc = await startLaggingRpc(anvil.rpcUrl, 1, (call) => call.method === "eth_getBlockByNumber", {
      result: null,
    });
    try {
      const client = createChainClient({ chainId: anvil.chainId, rpcUrls: [rpc.url] });
      const block = await whenKnown(() => client.getBlock({ blockNumber: head.number }));
      assert.equal(block.hash, head.hash);
      assert.equal(receivedCount(rpc), 2);
    } finally {
      await rpc.close();
    }
  });

  it("a block no node knows after the waits is gone: the run stops with the reason, not a value of another block", async () => {
    const client = createChainClient({ chainId: anvil.chainId, rpcUrls: [anvil.rpcUrl] });
    const gone = { number: 1n, hash: keccak256(stringToHex("a block reorged away")) };
    await assert.rejects(
      readAt(client, gone, "eth_getStorageAt", [account, "0x0"]),
      (error) =>
        error instanceof PinnedBlockGoneError && /no longer served by the RPC: a reorg replaced it/.test(error.message),
    );
  });
});
