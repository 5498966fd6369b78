import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { numberToHex, toEventSelector, toFunctionSelector, type Hex } from "viem";
import { scanScope } from "../src/chain/candidates";
import { createChainClient } from "../src/chain/client";
import { readLiveState } from "../src/chain/read-state";
import { fileCheckpointStore, type CheckpointStore } from "../src/chain/scan-checkpoints";
import type { StackConfig } from "../src/config/schema";
import { planChanges } from "../src/plan/plan";
import type { RangeRefusalStyle } from "../test/helpers/faulty-rpc";
import { startRemoteRpc, type RemoteRpc } from "./remote-rpc";
import { median } from "./measure";
import { startBenchStack } from "./stack";

/** One chain-age row: `cap` null is an RPC without a getLogs range cap. */
export interface AgeResult {
  scenario: "age";
  blocks: number;
  cap: number | null;
  run: "first" | "steady";
  /** The most any repeat made. */
  requests: number;
  /** The median of the repeats. */
  ms: number;
  /** The same first read with one eth_getLogs at a time in ranges of at most 50,000 blocks (the scan before checkpoints), median of as many repeats. */
  sequentialMs?: number;
  /** Uncapped rows with a baseline: what no first read can beat on this machine (floorRead), median of as many repeats. */
  floorMs?: number;
}

/** A remote RPC's round trip, added by the proxy to every request. */
const LATENCY_MS = 50;
export const AGE_ITEMS = 1_000;
/**
 * Rows judged against the one-at-a-time baseline are measured this many times, first and baseline
 * interleaved so that neither runs warmer code, and take the medians (as the item rows do).
 */
const REPEATS_WITH_BASELINE = 3;
/** The range the scan used before it learnt the RPC's limit: its sequential baseline keeps it. */
const OLD_CHUNK = 50_000n;
/** How each cap is worded: as Infura (-32005, which viem itself would retry) and as Alchemy (-32602). */
const STYLE: Record<number, RangeRefusalStyle> = { 10000: "infura", 2000: "alchemy" };

export const AGE_CASES: { blocks: number; caps: (number | null)[]; sequential: boolean }[] = [
  { blocks: 1_000_000, caps: [null, 10_000, 2_000], sequential: true },
  { blocks: 38_000_000, caps: [10_000], sequential: false },
];

type Timed = { requests: number; ms: number };

/**
 * The three requests a first read cannot do without, one after another with nothing else in flight
 * and nothing decoded: the head; one eth_getLogs over the whole range; the block again beside one
 * getter (the reorg check, and the getters of what only the scan found).
 */
async function floorRead(rpc: RemoteRpc, config: StackConfig): Promise<number> {
  const ask = async (method: string, params: unknown[]) => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method, params });
    const response = await fetch(rpc.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    return ((await response.json()) as { result: { number: Hex; hash: Hex } }).result;
  };
  // What the read's own scan asks for.
  const { proxies, timelock, events } = scanScope(config.network.chainId, config);
  const filter = { address: [...proxies, ...timelock], topics: [events.map((event) => toEventSelector(event))] };
  const started = performance.now();
  const head = await ask("eth_getBlockByNumber", ["latest", false]);
  await ask("eth_getLogs", [
    { ...filter, fromBlock: numberToHex(config.network.startBlock ?? 0), toBlock: head.number },
  ]);
  await Promise.all([
    ask("eth_getBlockByNumber", [head.number, false]),
    ask("eth_call", [{ to: config.kms.proxy, data: toFunctionSelector("owner()") }, { blockHash: head.hash }]),
  ]);
  return Math.round((performance.now() - started) * 10) / 10;
}

/** Repeats of one read: the most requests any made, the median time. */
function summary(runs: Timed[]): Timed {
  return { requests: Math.max(...runs.map((run) => run.requests)), ms: median(runs.map((run) => run.ms)) };
}

async function readOnce(rpc: RemoteRpc, config: StackConfig, checkpoints: CheckpointStore, sequential = false) {
  const client = createChainClient({ chainId: config.network.chainId, rpcUrls: [rpc.url] });
  const before = await rpc.receivedCount();
  const started = performance.now();
  const scanned = sequential ? { ...config, network: { ...config.network, logChunkSize: Number(OLD_CHUNK) } } : config;
  const live = await readLiveState(client, scanned, { checkpoints, concurrency: sequential ? 1 : undefined });
  const calls = planChanges(config, live);
  const ms = Math.round((performance.now() - started) * 10) / 10;
  assert.deepEqual(
    calls.map((c) => c.description),
    [],
    "the config listing the live items must plan nothing",
  );
  return { requests: (await rpc.receivedCount()) - before, ms };
}

/**
 * A stack of 1,000 items on a chain whose first block is `blocks` (anvil --number), read with
 * `startBlock: 0` through a proxy (in its own thread, as a remote node) adding 50 ms per request and refusing ranges above each cap:
 * the first read (no checkpoint), then a steady one (from the first one's checkpoint), then with
 * `sequential` the baseline; with a baseline, three times over.
 */
export async function measureAge(blocks: number, caps: (number | null)[], sequential: boolean): Promise<AgeResult[]> {
  const stack = await startBenchStack({ number: BigInt(blocks) });
  const results: AgeResult[] = [];
  try {
    await stack.growTo(AGE_ITEMS);
    for (const cap of caps) {
      const rpc = await startRemoteRpc({
        upstream: stack.deployment.rpcUrl,
        seed: 1,
        failureRate: 0,
        latencyMs: LATENCY_MS,
        logRangeCap: cap === null ? undefined : { blocks: cap, style: STYLE[cap] ?? "geth" },
      });
      try {
        const live = stack.liveConfig();
        const config: StackConfig = { ...live, network: { ...live.network, rpcUrls: [rpc.url], startBlock: 0 } };
        const dir = mkdtempSync(join(tmpdir(), "gov-bench-age-"));
        // One untimed read first, so the timed ones (first and sequential alike) run warm code on both sides.
        await readOnce(rpc, config, fileCheckpointStore(join(dir, "warm-up.json")));
        const firsts: Timed[] = [];
        const steadies: Timed[] = [];
        const baselines: Timed[] = [];
        const floors: number[] = [];
        for (let i = 0; i < (sequential ? REPEATS_WITH_BASELINE : 1); i++) {
          const checkpoints = fileCheckpointStore(join(dir, `checkpoints-${i}.json`));
          firsts.push(await readOnce(rpc, config, checkpoints));
          steadies.push(await readOnce(rpc, config, checkpoints));
          if (sequential)
            baselines.push(await readOnce(rpc, config, fileCheckpointStore(join(dir, `sequential-${i}.json`)), true));
          if (sequential && cap === null) floors.push(await floorRead(rpc, config));
        }
        results.push({
          scenario: "age",
          blocks,
          cap,
          run: "first",
          ...summary(firsts),
          ...(sequential ? { sequentialMs: summary(baselines).ms } : {}),
          ...(floors.length ? { floorMs: median(floors) } : {}),
        });
        results.push({ scenario: "age", blocks, cap, run: "steady", ...summary(steadies) });
      } finally {
        await rpc.close();
      }
    }
  } finally {
    await stack.stop();
  }
  return results;
}

/** Targets of the issue: steady ≤ 15 requests; first ≤ 1.05 × ceil(blocks / cap) + 15; 6× faster than sequential. */
export function missedAgeTargets(results: AgeResult[]): string[] {
  const missed: string[] = [];
  for (const r of results) {
    const label = `${r.blocks} blocks, cap ${r.cap ?? "none"}, ${r.run} read`;
    if (r.run === "steady" && r.requests > 15) missed.push(`${label}: ${r.requests} requests (target ≤ 15)`);
    if (r.run === "first") {
      const limit = 1.05 * Math.ceil(r.blocks / (r.cap ?? Number.POSITIVE_INFINITY)) + 15;
      if (r.requests > limit) missed.push(`${label}: ${r.requests} requests (target ≤ ${limit})`);
      if (r.sequentialMs !== undefined && r.sequentialMs < 6 * r.ms)
        missed.push(
          `${label}: ${r.ms} ms, only ${(r.sequentialMs / r.ms).toFixed(1)}× faster than one request at a time (${r.sequentialMs} ms; target 6×)`,
        );
    }
  }
  return missed;
}
