import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import type { PublicClient } from "viem";
import { createChainClient } from "../src/chain/client";
import { readLiveState, type LiveState } from "../src/chain/read-state";
import type { StackConfig } from "../src/config/schema";
import { planChanges } from "../src/plan/plan";
import type { PlannedCall } from "../src/plan/types";
import { readLiveStateNaively } from "./naive-reader";
import { EXTRA_OS_IMAGE, type BenchStack } from "./stack";

/** One line of the bench output: `npm run bench -- --json` prints exactly these keys. */
export interface SizeResult {
  items: number;
  requests: number;
  baselineRequests: number;
  ms: number;
  baselineMs: number;
}

type Reader = (client: PublicClient, config: StackConfig) => Promise<LiveState>;

interface Run {
  requests: number;
  ms: number;
  live: LiveState;
  calls: PlannedCall[];
}

/** Read + plan once on a fresh client that counts every JSON-RPC request it sends. */
async function readAndPlan(stack: BenchStack, read: Reader, config: StackConfig): Promise<Run> {
  let requests = 0;
  const { rpcUrl, chainId } = stack.deployment;
  const client = createChainClient({ chainId, rpcUrls: [rpcUrl], onRequest: () => requests++ });
  const start = performance.now();
  const live = await read(client, config);
  const calls = planChanges(config, live);
  return { requests, ms: performance.now() - start, live, calls };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Repeats a run; request counts must not vary (nothing changes on chain), times take the median. */
async function repeatedly(repeats: number, stack: BenchStack, read: Reader, config: StackConfig): Promise<Run> {
  const runs: Run[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await readAndPlan(stack, read, config));
  const counts = runs.map((run) => run.requests);
  assert.ok(
    counts.every((count) => count === counts[0]),
    `request counts differ across repeats of the same read: ${counts.join(", ")}`,
  );
  return { ...runs[0], ms: median(runs.map((run) => run.ms)) };
}

/**
 * Measures the engine and the naive baseline on the stack as it is now. Checks first that the
 * chain holds exactly what the stack tracks (the live config plans nothing), then that both
 * readers see the same state and plan the one extra item.
 */
export async function measureStack(stack: BenchStack, repeats: number): Promise<SizeResult> {
  const check = await readAndPlan(stack, readLiveState, stack.liveConfig());
  assert.deepEqual(
    check.calls.map((c) => c.description),
    [],
    "the config listing the live items must plan nothing",
  );

  const desired = stack.desiredConfig();
  const engine = await repeatedly(repeats, stack, readLiveState, desired);
  const baseline = await repeatedly(repeats, stack, readLiveStateNaively, desired);
  assert.deepEqual(baseline.live, engine.live, "the naive reader must see the same live state as the engine");
  assert.equal(engine.calls.length, 1, engine.calls.map((c) => c.description).join("\n"));
  assert.equal(engine.calls[0].functionName, "addOsImageHash");
  assert.deepEqual(engine.calls[0].args, [EXTRA_OS_IMAGE]);
  assert.deepEqual(baseline.calls, engine.calls);
  const tenths = (ms: number) => Math.round(ms * 10) / 10;
  return {
    items: stack.itemCount(),
    requests: engine.requests,
    baselineRequests: baseline.requests,
    ms: tenths(engine.ms),
    baselineMs: tenths(baseline.ms),
  };
}
