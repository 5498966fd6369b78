import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EXTRA_OS_IMAGE, startBenchStack, type BenchStack } from "../bench/stack";
import { createChainClient } from "../src/chain/client";
import { readLiveState } from "../src/chain/read-state";
import { planChanges } from "../src/plan/plan";
import { proveConvergence } from "../src/policy/convergence";
import { buildProposal } from "../src/proposal/build";
import { receivedCount, startFaultyRpc, type FaultyRpc } from "./helpers/faulty-rpc";

/**
 * What the fork loads from the chain's RPC for a one-change proposal: the accounts and storage
 * slots of the Safe, timelock and KMS transactions it runs, and the scalars it reads again.
 * Measured here: 97-120 requests at 100 and at 1,000 items (1,120 at 1,000 items before the fork re-read
 * only what a proposal touches).
 */
const MAX_UPSTREAM_REQUESTS = 150;

describe("convergence proof cost: requests reaching the chain's RPC (through a counting proxy) follow the changes, not the items", () => {
  let bench: BenchStack;
  let rpc: FaultyRpc;

  before(async () => {
    bench = await startBenchStack();
    rpc = await startFaultyRpc({ upstream: bench.deployment.rpcUrl, seed: 15, failureRate: 0 });
  });
  after(async () => {
    await rpc?.close();
    await bench?.stop();
  });

  /** Plans the stack's one change (EXTRA_OS_IMAGE), builds its proposal and proves it, counting upstream requests. */
  async function proofRequests(): Promise<{ total: number; storage: number }> {
    const config = { ...bench.desiredConfig() };
    config.network = { ...config.network, rpcUrls: [rpc.url] };
    const client = createChainClient({ chainId: config.network.chainId, rpcUrls: [rpc.url] });
    const live = await readLiveState(client, config);
    const calls = planChanges(config, live);
    assert.deepEqual(
      calls.map((c) => c.change.kind === "set.add" && c.change.item),
      [EXTRA_OS_IMAGE],
    );
    const proposal = await buildProposal({ stack: "bench", config, live, calls, client });
    const before = receivedCount(rpc);
    const methodsBefore = { ...rpc.received };
    const result = await proveConvergence({ config, live, proposal, client });
    assert.equal(result.converged, true, result.remaining.join("\n"));
    const requests = receivedCount(rpc) - before;
    const methods = Object.entries(rpc.received).flatMap(([m, n]) =>
      n > (methodsBefore[m] ?? 0) ? [`${m} ${n - (methodsBefore[m] ?? 0)}`] : [],
    );
    console.log(
      `convergence proof at ${bench.itemCount()} items: ${requests} upstream requests (${methods.join(", ")})`,
    );
    return { total: requests, storage: rpc.received.eth_getStorageAt - (methodsBefore.eth_getStorageAt ?? 0) };
  }

  it(`a one-change proposal: under ${MAX_UPSTREAM_REQUESTS} requests at 1,000 items, no more than at 100`, async () => {
    await bench.growTo(100);
    const small = await proofRequests();
    await bench.growTo(1_000);
    const large = await proofRequests();
    assert.ok(large.total < MAX_UPSTREAM_REQUESTS, `${large.total} upstream requests at 1,000 items`);
    // Account loading by the fork varies between runs (anvil asks eth_getAccountInfo or balance, nonce and
    // code); the storage it reads is exact: ten times the items must not add one slot.
    assert.equal(large.storage, small.storage, "storage slots read at 1,000 items vs at 100");
  });
});
