import {
  getAbiItem,
  getAddress,
  hexToBigInt,
  isAddress,
  isHex,
  toEventSelector,
  toHex,
  type AbiEvent,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { z } from "zod";
import { timelockAbi } from "./abis";
import { scanLogs } from "./logs";
import { multicallAt, succeeded } from "./multicall";
import { resumeScan, type CheckpointStore, type ScanCheckpoint } from "./scan-checkpoints";

/** A timelock operation still queued at the pinned block, as its CallScheduled events describe it. */
export interface ScheduledOperation {
  operationId: Hex;
  /** Its calls in batch order. */
  calls: { to: Address; value: bigint; data: Hex }[];
  blockNumber: bigint;
  txHash: Hex;
}

/** One CallScheduled event: one call of a batch. */
interface ScheduledCall {
  id: Hex;
  index: bigint;
  to: Address;
  value: bigint;
  data: Hex;
  blockNumber: bigint;
  txHash: Hex;
}

const callScheduled = getAbiItem({ abi: timelockAbi, name: "CallScheduled" }) as AbiEvent;
/** getTimestamp: 0 unset (never scheduled or cancelled), 1 done, else queued. */
const DONE_TIMESTAMP = 1n;

/** A checkpoint keeps the calls of the operations queued at its block: `${id}:${index}` → [to, value, data, block, tx]. */
function storedCalls(calls: readonly ScheduledCall[]): ScanCheckpoint["candidates"] {
  return Object.fromEntries(
    calls.map((c) => [`${c.id}:${c.index}`, [c.to, toHex(c.value), c.data, toHex(c.blockNumber), c.txHash]]),
  );
}

const quantity = z.string().regex(/^0x[0-9a-fA-F]+$/);
/** What storedCalls writes, read back; anything else (a hand edit, a truncation) makes the checkpoint unusable. */
const storedCallsSchema = z.record(
  z.string().regex(/^0x[0-9a-fA-F]{64}:\d+$/),
  z.tuple([
    z.string().refine((v) => isAddress(v, { strict: true })),
    quantity,
    z.string().refine((v) => isHex(v) && v.length % 2 === 0),
    quantity,
    z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  ]),
);

/** The calls a checkpoint keeps, or undefined when any of them does not parse. */
function restoredCalls(checkpoint: ScanCheckpoint): ScheduledCall[] | undefined {
  const parsed = storedCallsSchema.safeParse(checkpoint.candidates);
  if (!parsed.success) return undefined;
  return Object.entries(parsed.data).map(([key, [to, value, data, blockNumber, txHash]]) => {
    const [id, index] = key.split(":");
    return {
      id: id as Hex,
      index: BigInt(index),
      to: getAddress(to),
      value: hexToBigInt(value as Hex),
      data: data as Hex,
      blockNumber: hexToBigInt(blockNumber as Hex),
      txHash: txHash as Hex,
    };
  });
}

/** The calls of each operation's newest scheduling (an operation rescheduled after a cancel counts once). */
function newestSchedulings(calls: readonly ScheduledCall[]): Map<Hex, ScheduledCall[]> {
  const byId = new Map<Hex, ScheduledCall[]>();
  for (const call of calls) {
    const id = call.id.toLowerCase() as Hex;
    const known = byId.get(id);
    if (!known || known[0].blockNumber < call.blockNumber) byId.set(id, [call]);
    else if (known[0].blockNumber === call.blockNumber && !known.some((k) => k.index === call.index)) known.push(call);
  }
  return byId;
}

/**
 * The operations queued in the timelock at the pinned block (scheduled, neither executed nor
 * cancelled), from its CallScheduled events since `fromBlock`: what a clone without the proposal
 * files still recognises from the chain alone. With a checkpoint store, the scan resumes from the
 * last canonical checkpoint, which keeps the calls of the operations then queued.
 */
export async function scheduledOperations(
  client: PublicClient,
  timelock: Address,
  range: { fromBlock: bigint; to: { number: bigint; hash: Hex }; maxRange?: bigint; concurrency?: number },
  checkpoints?: CheckpointStore,
): Promise<ScheduledOperation[]> {
  const pinned = range.to;
  const scope = {
    chainId: client.chain!.id,
    addresses: [timelock.toLowerCase()],
    events: [toEventSelector(callScheduled)],
  };
  const resumed = await resumeScan(client, checkpoints, scope, range, restoredCalls);
  const logs = await scanLogs<{ id: Hex; index: bigint; target: Address; value: bigint; data: Hex }>(client, {
    addresses: [timelock],
    events: [callScheduled],
    fromBlock: resumed.scanFrom,
    toBlock: pinned.number,
    maxRange: range.maxRange,
    concurrency: range.concurrency,
  });
  const byId = newestSchedulings([
    ...(resumed.kept ?? []),
    ...logs.map((log) => ({
      id: log.args.id,
      index: log.args.index,
      to: getAddress(log.args.target),
      value: log.args.value,
      data: log.args.data,
      blockNumber: log.blockNumber,
      txHash: log.transactionHash,
    })),
  ]);
  const operations = [...byId.values()];
  const timestamps = await multicallAt(
    client,
    pinned,
    operations.map((calls) => ({
      address: timelock,
      abi: timelockAbi,
      functionName: "getTimestamp",
      args: [calls[0].id],
    })),
  );
  const queued = operations.filter(
    (calls, i) => succeeded<bigint>(timestamps[i], `the timelock's getTimestamp(${calls[0].id})`) > DONE_TIMESTAMP,
  );
  // Done and cancelled operations are final (a rescheduling is a new event): the checkpoint drops them.
  await resumed.save(storedCalls(queued.flat()));
  return queued.map((calls) => {
    const ordered = [...calls].sort((a, b) => (a.index < b.index ? -1 : 1));
    return {
      operationId: ordered[0].id,
      calls: ordered.map(({ to, value, data }) => ({ to, value, data })),
      blockNumber: ordered[0].blockNumber,
      txHash: ordered[0].txHash,
    };
  });
}
