import {
  getAddress,
  hexToBigInt,
  toEventSelector,
  toHex,
  type AbiEvent,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { z } from "zod";
import { safe130EventsAbi, safeAbi } from "./abis";
import { scanLogs } from "./logs";
import { resumeScan, type CheckpointStore, type ScanCheckpoint } from "./scan-checkpoints";

/** The Safe transactions a Safe ran in a block range: what tells an executed proposal from a superseded one. */
export interface SafeExecutions {
  safe: Address;
  fromBlock: bigint;
  toBlock: bigint;
  /** safeTxHash (lowercase) → the block that ran it. */
  blocks: ReadonlyMap<Hex, bigint>;
}

/** Safe 1.4.1 indexes the hash and 1.3.0 does not: one signature, both shapes (told apart by topic count). */
const executionSuccess = [safeAbi, safe130EventsAbi].map(
  (abi) => (abi as readonly AbiEvent[]).find((item) => item.type === "event" && item.name === "ExecutionSuccess")!,
);

/** A checkpoint keeps `${safeTxHash}` → [block] of every execution up to its block; anything else makes it unusable. */
const storedSchema = z.record(z.string().regex(/^0x[0-9a-f]{64}$/), z.tuple([z.string().regex(/^0x[0-9a-fA-F]+$/)]));

function restored(checkpoint: ScanCheckpoint): Map<Hex, bigint> | undefined {
  const parsed = storedSchema.safeParse(checkpoint.candidates);
  if (!parsed.success) return undefined;
  return new Map(Object.entries(parsed.data).map(([hash, [block]]) => [hash as Hex, hexToBigInt(block as Hex)]));
}

/**
 * The executions of a Safe from `fromBlock` to the block `to` (ExecutionSuccess events), scanned as
 * every log scan is (an RPC's range cap costs requests, not a failure). With a store and the
 * block's hash, the scan resumes from the last canonical checkpoint and saves one at `to`.
 */
export async function safeExecutions(
  client: PublicClient,
  safe: Address,
  range: { fromBlock: bigint; to: { number: bigint; hash?: Hex } },
  store?: CheckpointStore,
): Promise<SafeExecutions> {
  const scope = {
    chainId: client.chain!.id,
    addresses: [safe.toLowerCase()],
    events: [toEventSelector(executionSuccess[0])],
  };
  const resumed = await resumeScan(client, store, scope, range, restored);
  const blocks = new Map(resumed.kept);
  const logs = await scanLogs<{ txHash: Hex }>(client, {
    addresses: [safe],
    events: executionSuccess,
    fromBlock: resumed.scanFrom,
    toBlock: range.to.number,
  });
  for (const log of logs) blocks.set(log.args.txHash.toLowerCase() as Hex, log.blockNumber);
  // A checkpoint past `to` holds later executions too: only those up to `to` count.
  for (const [hash, block] of blocks) if (block > range.to.number) blocks.delete(hash);
  await resumed.save(Object.fromEntries([...blocks].map(([hash, block]) => [hash, [toHex(block)]])));
  return { safe: getAddress(safe), fromBlock: range.fromBlock, toBlock: range.to.number, blocks };
}

/** Whether these executions answer for a proposal planned at `plannedAtBlock` on `safe`, read at `blockNumber`. */
export function coversProposal(
  executions: SafeExecutions,
  safe: Address,
  plannedAtBlock: bigint,
  blockNumber: bigint,
): boolean {
  return (
    getAddress(safe) === executions.safe && executions.fromBlock <= plannedAtBlock && executions.toBlock === blockNumber
  );
}
