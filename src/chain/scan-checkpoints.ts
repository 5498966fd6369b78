import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Hex, PublicClient } from "viem";
import { z } from "zod";
import { writeFileAtomic } from "../proposal/atomic-write";

/**
 * What one event scan found, up to a block: the candidates of every authorization set (items an
 * Added event named). A later read scans only from
 * `block` on; it can only save work, since membership is confirmed by the getters anyway.
 */
export interface ScanCheckpoint {
  chainId: number;
  /** What was scanned: the proxies and event selectors (sorted), from which block. */
  addresses: string[];
  events: string[];
  fromBlock: string;
  /** The first block was found by searching for the proxies' deployment, not given by the stack. */
  discovered: boolean;
  block: string;
  hash: string;
  /** What the scan keeps: `${proxy}:${set}` → items (lowercase) for the sets; the scheduled and executions scans keep their own. */
  candidates: Record<string, string[]>;
}

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/);
const checkpointSchema = z.strictObject({
  chainId: z.number().int().positive(),
  addresses: z.array(hex),
  events: z.array(hex),
  fromBlock: z.string().regex(/^\d+$/),
  discovered: z.boolean(),
  block: z.string().regex(/^\d+$/),
  hash: hex,
  candidates: z.record(z.string(), z.array(hex)),
});
const fileSchema = z.strictObject({ version: z.literal(1), checkpoints: z.array(checkpointSchema) });

/** Newest first; older ones are where a rescan restarts when a reorg replaced the newest. */
const KEPT = 3;

export interface CheckpointStore {
  /** Newest first. A missing or unreadable file is no checkpoint (a full scan), never an error. */
  load(): ScanCheckpoint[];
  save(checkpoint: ScanCheckpoint): Promise<void>;
}

/**
 * `checkpoints/<stack>.json` (the authorization sets' and roles' scan),
 * `checkpoints/<stack>.scheduled.json` (the timelock's CallScheduled scan) and
 * `checkpoints/<stack>.executions.json` (the Safe's ExecutionSuccess scan) beside the stack file,
 * meant to be committed with it. One file per scan: a save replaces the checkpoints of other scans.
 */
export function checkpointPath(
  root: string,
  stack: string,
  scan: "sets" | "scheduled" | "executions" = "sets",
): string {
  return join(root, "checkpoints", scan === "sets" ? `${stack}.json` : `${stack}.${scan}.json`);
}

export function fileCheckpointStore(path: string): CheckpointStore {
  const load = (): ScanCheckpoint[] => {
    if (!existsSync(path)) return [];
    try {
      return fileSchema.parse(JSON.parse(readFileSync(path, "utf8"))).checkpoints;
    } catch {
      return [];
    }
  };
  return {
    load,
    async save(checkpoint) {
      // Keep older checkpoints of the same scan below the new one; a different scan replaces them.
      const same = (c: ScanCheckpoint) => ofScan(c, checkpoint) && c.fromBlock === checkpoint.fromBlock;
      const older = load().filter((c) => same(c) && BigInt(c.block) < BigInt(checkpoint.block));
      const checkpoints = [checkpoint, ...older].slice(0, KEPT);
      await writeFileAtomic(path, `${JSON.stringify({ version: 1, checkpoints }, null, 1)}\n`);
    },
  };
}

export type ScanScope = Pick<ScanCheckpoint, "chainId" | "addresses" | "events">;

/** Whether a checkpoint is one of this scan's: the same chain, addresses and events. */
export function ofScan(checkpoint: ScanCheckpoint, scope: ScanScope): boolean {
  return (
    checkpoint.chainId === scope.chainId &&
    checkpoint.addresses.join() === scope.addresses.join() &&
    checkpoint.events.join() === scope.events.join()
  );
}

/**
 * The newest checkpoint of a scan (chain, addresses, events) whose block is still canonical: an
 * older one when a reorg replaced the newer, none when all were replaced (a full rescan). Its block
 * may be past the pinned one when none is at or below it: what it found then includes everything
 * found by the pinned block.
 */
export async function canonicalCheckpoint(
  client: PublicClient,
  store: CheckpointStore,
  scope: ScanScope,
  pinned: { number: bigint; hash?: Hex },
  accepts: (checkpoint: ScanCheckpoint) => boolean = () => true,
): Promise<ScanCheckpoint | undefined> {
  const matching = store.load().filter((c) => ofScan(c, scope) && accepts(c));
  // Those up to the pinned block first, newest first: a read then names no later block. Past it,
  // the nearest first (only a read of an earlier block, or a node lagging behind, gets there).
  const upTo = matching.filter((c) => BigInt(c.block) <= pinned.number);
  const past = matching.filter((c) => BigInt(c.block) > pinned.number).reverse();
  for (const checkpoint of [...upTo, ...past]) {
    const block = BigInt(checkpoint.block);
    const hash =
      block === pinned.number && pinned.hash
        ? pinned.hash
        : (await client.getBlock({ blockNumber: block }).catch(() => null))?.hash;
    if (hash === checkpoint.hash) return checkpoint;
  }
  return undefined;
}

/** A scan of one scope resumed from its checkpoint: what that kept, where to scan from, how to checkpoint the result. */
export interface ResumedScan<T> {
  /** What the checkpoint kept, parsed; undefined without one. */
  kept: T | undefined;
  /** The first block still to scan. */
  scanFrom: bigint;
  /** Records what the scan keeps at `to`: only with a store, `to`'s hash and `to` past the checkpoint. */
  save(candidates: ScanCheckpoint["candidates"]): Promise<void>;
}

/**
 * Where a scan of one scope over [fromBlock, to] resumes: the newest canonical checkpoint that
 * starts at or before `fromBlock` and whose kept data `restore` parses (each parsed once), else
 * `fromBlock` itself. A checkpoint whose data does not parse (a hand edit, a truncation) is skipped.
 */
export async function resumeScan<T>(
  client: PublicClient,
  store: CheckpointStore | undefined,
  scope: ScanScope,
  range: { fromBlock: bigint; to: { number: bigint; hash?: Hex } },
  restore: (checkpoint: ScanCheckpoint) => T | undefined,
): Promise<ResumedScan<T>> {
  const parsed = new Map<ScanCheckpoint, T>();
  const checkpoint = store
    ? await canonicalCheckpoint(client, store, scope, range.to, (c) => {
        const data = BigInt(c.fromBlock) <= range.fromBlock ? restore(c) : undefined;
        if (data !== undefined) parsed.set(c, data);
        return data !== undefined;
      })
    : undefined;
  const advanced = !checkpoint || range.to.number > BigInt(checkpoint.block);
  return {
    kept: checkpoint && parsed.get(checkpoint),
    scanFrom: checkpoint ? BigInt(checkpoint.block) + 1n : range.fromBlock,
    async save(candidates) {
      if (!store || !range.to.hash || !advanced) return;
      await store.save({
        ...scope,
        fromBlock: checkpoint?.fromBlock ?? range.fromBlock.toString(),
        discovered: false,
        block: range.to.number.toString(),
        hash: range.to.hash,
        candidates,
      });
    },
  };
}
