import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EXTRA_OS_IMAGE, startBenchStack, type BenchStack } from "../bench/stack";
import { createChainClient } from "../src/chain/client";
import { readLiveState } from "../src/chain/read-state";
import { planChanges } from "../src/plan/plan";
import { proveConvergence, type ConvergenceResult } from "../src/policy/convergence";
import { buildProposal } from "../src/proposal/build";
import { receivedCount, startFaultyRpc, type FaultyRpc } from "./helpers/faulty-rpc";

/**
 * What the fork loads from the chain's RPC for a one-change proposal: the accounts and storage
 * slots of the Safe, timelock and KMS transactions it runs, and the scalars it reads again.
 * Measured here: 32 requests at 100 and at 1,000 items (5 access lists, 13 eth_getProof, 10
 * eth_getCode, 2 storage words no list named, the fork block and gas price); 97-121 before the
 * relay preloaded whole accounts, 1,120 before the fork re-read only what a proposal touches.
 */
const MAX_UPSTREAM_REQUESTS = 50;

/** An RPC without eth_getProof and eth_createAccessList: asked under another name, anvil says "method not found". */
const REFUSED = new Set(["eth_getProof", "eth_createAccessList"]);

describe("convergence proof cost: requests reaching the chain's RPC (through a counting proxy) follow the changes, not the items", () => {
  let bench: BenchStack;
  let rpc: FaultyRpc;
  let bare: FaultyRpc;

  before(async () => {
    bench = await startBenchStack();
    rpc = await startFaultyRpc({ upstream: bench.deployment.rpcUrl, seed: 15, failureRate: 0 });
    bare = await startFaultyRpc({
      upstream: bench.deployment.rpcUrl,
      seed: 15,
      failureRate: 0,
      intercept: (call) => (REFUSED.has(call.method) ? { ...call, method: `${call.method}_unsupported` } : call),
    });
  });
  after(async () => {
    await rpc?.close();
    await bare?.close();
    await bench?.stop();
  });

  /** Plans the stack's one change (EXTRA_OS_IMAGE), builds its proposal and proves it through `proxy`, counting upstream requests. */
  async function prove(proxy: FaultyRpc): Promise<{ total: number; storage: number; result: ConvergenceResult }> {
    const config = { ...bench.desiredConfig() };
    config.network = { ...config.network, rpcUrls: [proxy.url] };
    const client = createChainClient({ chainId: config.network.chainId, rpcUrls: [proxy.url] });
    const live = await readLiveState(client, config);
    const calls = planChanges(config, live);
    assert.deepEqual(
      calls.map((c) => c.change.kind === "set.add" && c.change.item),
      [EXTRA_OS_IMAGE],
    );
    const proposal = await buildProposal({ stack: "bench", config, live, calls, client });
    const before = receivedCount(proxy);
    const methodsBefore = { ...proxy.received };
    const result = await proveConvergence({ config, live, proposal, client });
    assert.equal(result.converged, true, result.remaining.join("\n"));
    const total = receivedCount(proxy) - before;
    const methods = Object.entries(proxy.received).flatMap(([m, n]) =>
      n > (methodsBefore[m] ?? 0) ? [`${m} ${n - (methodsBefore[m] ?? 0)}`] : [],
    );
    console.log(`convergence proof at ${bench.itemCount()} items: ${total} upstream requests (${methods.join(", ")})`);
    const storage = (proxy.received.eth_getStorageAt ?? 0) - (methodsBefore.eth_getStorageAt ?? 0);
    return { total, storage, result };
  }

  it(`a one-change proposal: under ${MAX_UPSTREAM_REQUESTS} requests at 1,000 items, no more than at 100`, async () => {
    await bench.growTo(100);
    const small = await prove(rpc);
    await bench.growTo(1_000);
    const large = await prove(rpc);
    assert.ok(large.total < MAX_UPSTREAM_REQUESTS, `${large.total} upstream requests at 1,000 items`);
    assert.ok(large.total <= small.total, `${large.total} requests at 1,000 items vs ${small.total} at 100`);
    // The storage the fork reads word by word (what no access list named) is exact: ten times the items add none.
    assert.equal(large.storage, small.storage, "storage slots read one at a time at 1,000 items vs at 100");
  });

  it("an RPC that refuses eth_getProof and eth_createAccessList: the fork loads lazily and proves the same", async () => {
    const preloaded = await prove(rpc);
    const lazy = await prove(bare);
    assert.deepEqual(lazy.result, preloaded.result);
    assert.ok(bare.received.eth_getProof > 0 && bare.received.eth_createAccessList > 0, "the relay asked for proofs");
    // Each slot the fork reads is now its own request: what the preload saved.
    assert.ok(lazy.storage > preloaded.storage + 10, `${lazy.storage} vs ${preloaded.storage} storage reads`);
  });
});
