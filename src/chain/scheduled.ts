import { getAbiItem, getAddress, type AbiEvent, type Address, type Hex, type PublicClient } from "viem";
import { timelockAbi } from "./abis";
import { scanLogs } from "./logs";

/** A timelock operation still queued at the pinned block, as its CallScheduled events describe it. */
export interface ScheduledOperation {
  operationId: Hex;
  /** Its calls in batch order. */
  calls: { to: Address; value: bigint; data: Hex }[];
  blockNumber: bigint;
  txHash: Hex;
}

const callScheduled = getAbiItem({ abi: timelockAbi, name: "CallScheduled" }) as AbiEvent;
/** getTimestamp: 0 unset (never scheduled or cancelled), 1 done, else queued. */
const DONE_TIMESTAMP = 1n;

/**
 * The operations queued in the timelock at the pinned block (scheduled, neither executed nor
 * cancelled), from its CallScheduled events since `fromBlock`: what a clone without the proposal
 * files still recognises from the chain alone.
 */
export async function scheduledOperations(
  client: PublicClient,
  timelock: Address,
  range: { fromBlock: bigint; toBlock: bigint; maxRange?: bigint; concurrency?: number },
): Promise<ScheduledOperation[]> {
  const logs = (await scanLogs(client, {
    addresses: [timelock],
    events: [callScheduled],
    ...range,
  })) as unknown as {
    args: { id: Hex; index: bigint; target: Address; value: bigint; data: Hex };
    blockNumber: bigint;
    transactionHash: Hex;
  }[];
  const byId = new Map<Hex, ScheduledOperation & { indexed: Map<bigint, ScheduledOperation["calls"][number]> }>();
  for (const log of logs) {
    const id = log.args.id.toLowerCase() as Hex;
    // Rescheduled after a cancel: the newest scheduling is the one that counts.
    const known = byId.get(id);
    if (!known || known.blockNumber < log.blockNumber)
      byId.set(id, {
        operationId: log.args.id,
        calls: [],
        blockNumber: log.blockNumber,
        txHash: log.transactionHash,
        indexed: new Map(),
      });
    byId
      .get(id)!
      .indexed.set(log.args.index, { to: getAddress(log.args.target), value: log.args.value, data: log.args.data });
  }
  if (byId.size === 0) return [];
  const operations = [...byId.values()];
  const timestamps = await client.multicall({
    contracts: operations.map(
      (o) => ({ address: timelock, abi: timelockAbi, functionName: "getTimestamp", args: [o.operationId] }) as const,
    ),
    allowFailure: false,
    blockNumber: range.toBlock,
  });
  return operations
    .filter((_, i) => timestamps[i] > DONE_TIMESTAMP)
    .map(({ indexed, ...o }) => ({
      ...o,
      calls: [...indexed.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, call]) => call),
    }));
}
