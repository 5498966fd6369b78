import {
  getAbiItem,
  getAddress,
  toEventSelector,
  type Abi,
  type AbiEvent,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { StackConfig } from "../config/schema";
import { dstackAppAbi, dstackKmsAbi, timelockAbi } from "./abis";
import { awaitedLater } from "./awaited-later";
import { scanLogs, type DecodedLog } from "./logs";
import {
  canonicalCheckpoint,
  ofScan,
  type CheckpointStore,
  type ScanCheckpoint,
  type ScanScope,
} from "./scan-checkpoints";
import { findDeploymentBlock } from "./start-block";
import { setAddedBy, setsOf } from "../governed/registry";

/** Every event that adds or removes a governed set's item, KMS sets first, in registry order. */
const scannedEvents: AbiEvent[] = (["kms", "app"] as const).flatMap((contract) =>
  setsOf(contract).flatMap((set) =>
    [set.events.added, set.events.removed].map(
      (name) => getAbiItem({ abi: (contract === "kms" ? dstackKmsAbi : dstackAppAbi) as Abi, name }) as AbiEvent,
    ),
  ),
);

const roleGranted = getAbiItem({ abi: timelockAbi, name: "RoleGranted" }) as AbiEvent;

/** Every item an Added event ever named, per `${proxy}:${set}`; every account granted a timelock role, per `${timelock}:role:${roleId}`. */
export type Candidates = Map<string, Set<Hex>>;

export interface ScanOptions {
  /** Where scans resume from; absent: every read scans from the start block. */
  checkpoints?: CheckpointStore;
  /** eth_getLogs requests in flight at once (default 8). */
  concurrency?: number;
  /** Told what the stack file should say (a start block that had to be searched for). */
  onNotice?: (message: string) => void;
}

export const candidateKey = (proxy: Address, set: string) => `${proxy}:${set}`;
export const roleCandidateKey = (timelock: Address, roleId: Hex) =>
  candidateKey(timelock, `role:${roleId.toLowerCase()}`);

const add = (candidates: Candidates, key: string, item: Hex) => {
  if (!candidates.has(key)) candidates.set(key, new Set());
  candidates.get(key)!.add(item.toLowerCase() as Hex);
};

function addLogs(candidates: Candidates, kmsProxy: Address, logs: readonly DecodedLog<Record<string, Hex>>[]): void {
  // Logs come from a few contracts: checksum each address once, not once per log.
  const checksummed = new Map<string, Address>();
  for (const log of logs) {
    const proxy = checksummed.get(log.address) ?? getAddress(log.address);
    checksummed.set(log.address, proxy);
    if (log.eventName === "RoleGranted") {
      add(candidates, roleCandidateKey(proxy, log.args.role), log.args.account);
      continue;
    }
    const set = setAddedBy(proxy === kmsProxy ? "kms" : "app", log.eventName);
    if (set) add(candidates, candidateKey(proxy, set.property), Object.values(log.args)[0]);
  }
}

function fromCheckpoint(checkpoint: ScanCheckpoint): Candidates {
  return new Map(Object.entries(checkpoint.candidates).map(([key, items]) => [key, new Set(items as Hex[])]));
}

/** A checkpoint of this very scan (same start, or a searched one when the stack gives none) that is still canonical. */
function usableCheckpoint(
  client: PublicClient,
  scope: ScanScope,
  startBlock: bigint | undefined,
  pinned: { number: bigint; hash: Hex },
  store: CheckpointStore,
) {
  return canonicalCheckpoint(client, store, scope, pinned, (c) =>
    startBlock === undefined ? c.discovered : !c.discovered && BigInt(c.fromBlock) <= startBlock,
  );
}

/** What this stack's scan covers: its proxies (and timelock) and their events, on one chain. */
export function scanScope(chainId: number, config: StackConfig) {
  const proxies = [config.kms.proxy, ...config.apps.map((app) => app.proxy)];
  // The timelock's role grants ride on the same scan (and checkpoint) as the authorization sets.
  const timelock = config.governance.mode === "safe+timelock" ? [config.governance.timelock.address] : [];
  const events = timelock.length ? [...scannedEvents, roleGranted] : scannedEvents;
  const scope = {
    chainId,
    addresses: [...proxies, ...timelock].map((p) => p.toLowerCase()).sort(),
    events: events.map((e) => toEventSelector(e)).sort(),
  };
  return { proxies, timelock, events, scope };
}

/**
 * The candidates of the newest checkpoint of this stack's scan, before it is confirmed canonical,
 * so that their getters run while the scan does. A candidate never decides a result (the getters
 * at the pinned block do): a checkpoint that turns out reorged away costs its getter calls only.
 */
export function checkpointedCandidates(chainId: number, config: StackConfig, store?: CheckpointStore): Candidates {
  if (!store) return new Map();
  const { scope } = scanScope(chainId, config);
  const newest = store.load().find((c) => ofScan(c, scope));
  return newest ? fromCheckpoint(newest) : new Map();
}

export interface ScannedCandidates {
  candidates: Candidates;
  /** Logs were read by block number (not all from a checkpoint): their blocks may be reorged meanwhile. */
  logsRead: boolean;
  /** The checkpoint at the pinned block being written (resolved at once without a store). */
  saved: Promise<void>;
}

/**
 * The candidates of every authorization set at the pinned block: from the newest canonical
 * checkpoint plus a scan of the blocks after it (none when the checkpoint is not older), or a full scan from network.startBlock (searched
 * for when the stack does not give it). Starts saving a checkpoint at the pinned block.
 */
export async function scanCandidates(
  client: PublicClient,
  config: StackConfig,
  pinned: { number: bigint; hash: Hex },
  options: ScanOptions = {},
): Promise<ScannedCandidates> {
  const { proxies, timelock, events, scope } = scanScope(client.chain!.id, config);
  const startBlock = config.network.startBlock === undefined ? undefined : BigInt(config.network.startBlock);
  const checkpoint = options.checkpoints
    ? await usableCheckpoint(client, scope, startBlock, pinned, options.checkpoints)
    : undefined;
  let fromBlock = checkpoint ? BigInt(checkpoint.fromBlock) : startBlock;
  if (fromBlock === undefined) {
    const deployment = await findDeploymentBlock(client, proxies, pinned.number);
    fromBlock = deployment.found ? deployment.block : 0n;
    if (!deployment.found) {
      options.onNotice?.(
        `network.startBlock is not set and the proxies' deployment block could not be found (${deployment.reason}): events are scanned from block 0; write their deployment block as network.startBlock in the stack file`,
      );
    }
  }
  if (startBlock === undefined && fromBlock > 0n) {
    options.onNotice?.(
      `network.startBlock is not set: the proxies were deployed at block ${fromBlock}; write \`startBlock: ${fromBlock}\` under network in the stack file`,
    );
  }
  const candidates: Candidates = checkpoint ? fromCheckpoint(checkpoint) : new Map();
  const scanFrom = checkpoint ? BigInt(checkpoint.block) + 1n : fromBlock;
  const logs = await scanLogs<Record<string, Hex>>(client, {
    addresses: [...proxies, ...timelock],
    events,
    fromBlock: scanFrom,
    toBlock: pinned.number,
    maxRange: config.network.logChunkSize === undefined ? undefined : BigInt(config.network.logChunkSize),
    concurrency: options.concurrency ?? config.network.logScanConcurrency,
  });
  addLogs(candidates, config.kms.proxy, logs);
  // A checkpoint at or past the pinned block (a read of an earlier block, e.g. a proposal's) holds
  // every item added by then: nothing to scan, and nothing newer to record.
  const advanced = !checkpoint || pinned.number > BigInt(checkpoint.block);
  const store = options.checkpoints;
  // Written on the next turn, once the caller has sent its last getters: the write's JSON is CPU they would wait for.
  const saved = awaitedLater(
    advanced && store
      ? nextTurn().then(() =>
          store.save({
            ...scope,
            fromBlock: fromBlock.toString(),
            discovered: startBlock === undefined,
            block: pinned.number.toString(),
            hash: pinned.hash,
            candidates: Object.fromEntries([...candidates].map(([key, items]) => [key, [...items].sort()])),
          }),
        )
      : Promise.resolve(),
  );
  return { candidates, logsRead: scanFrom <= pinned.number, saved };
}
