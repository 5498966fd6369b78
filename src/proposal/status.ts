import { getAddress, type Address, type Hex, type PublicClient } from "viem";
import { safeAbi, timelockAbi } from "../chain/abis";
import { coversProposal, safeExecutions, type SafeExecutions } from "../chain/safe-executions";
import { recoverSafeSigner } from "./signature";
import type { FileSignature, ProposalFile } from "./types";

export type ProposalStatus =
  | { state: "awaiting-signatures"; have: number; need: number; signers: Address[] }
  | { state: "scheduled"; eta: bigint }
  | { state: "ready"; eta: bigint; expiresAt: bigint }
  | { state: "executed" }
  | { state: "expired"; expiredAt: bigint }
  | { state: "cancelled" }
  | { state: "superseded" };

/** Proposals in these states still cover their changes: preview must not propose them again. */
export function isInFlight(status: ProposalStatus): boolean {
  return status.state === "awaiting-signatures" || status.state === "scheduled" || status.state === "ready";
}

export function describeStatus(status: ProposalStatus): string {
  const at = (t: bigint) => new Date(Number(t) * 1000).toISOString();
  switch (status.state) {
    case "awaiting-signatures":
      return `awaiting signatures (${status.have} of ${status.need})`;
    case "scheduled":
      return `queued in the timelock until ${at(status.eta)}`;
    case "ready":
      return `ready to execute (until ${at(status.expiresAt)})`;
    case "expired":
      return `expired at ${at(status.expiredAt)}`;
    default:
      return status.state;
  }
}

/** File signatures that really are from current owners over this Safe tx hash. */
export async function validFileSignatures(p: ProposalFile, owners: readonly Address[]): Promise<FileSignature[]> {
  const valid: FileSignature[] = [];
  for (const signature of p.signatures) {
    const recovered = await recoverSafeSigner(p.safeTxHash, signature.data);
    if (recovered && getAddress(recovered) === getAddress(signature.signer) && owners.includes(recovered))
      valid.push(signature);
  }
  return valid;
}

/** Owners that approved the Safe tx hash on chain with approveHash. */
export async function onChainApprovals(
  client: PublicClient,
  p: ProposalFile,
  owners: readonly Address[],
  blockNumber?: bigint,
): Promise<Address[]> {
  const approved = await client.multicall({
    contracts: owners.map(
      (owner) =>
        ({
          address: p.safe.address,
          abi: safeAbi,
          functionName: "approvedHashes",
          args: [owner, p.safeTxHash],
        }) as const,
    ),
    allowFailure: false,
    blockNumber,
  });
  return owners.filter((_, i) => approved[i] !== 0n);
}

/**
 * Derives a proposal's status from the chain alone; the file only says what to look for.
 * `executions`: the Safe's executions up to `blockNumber`, read once for many proposals.
 */
export async function proposalStatus(
  client: PublicClient,
  p: ProposalFile,
  blockNumber?: bigint,
  executions?: SafeExecutions,
): Promise<ProposalStatus> {
  const [owners, threshold, nonce] = await client.multicall({
    contracts: [
      { address: p.safe.address, abi: safeAbi, functionName: "getOwners" },
      { address: p.safe.address, abi: safeAbi, functionName: "getThreshold" },
      { address: p.safe.address, abi: safeAbi, functionName: "nonce" },
    ],
    allowFailure: false,
    blockNumber,
  });
  if (nonce <= BigInt(p.safe.nonce)) {
    // An execution proposal is worth nothing once its operation expired, even if a stock timelock would still run it.
    if (p.executes) {
      const { timestamp } = await client.getBlock(blockNumber === undefined ? { blockTag: "latest" } : { blockNumber });
      if (timestamp > BigInt(p.executes.expiresAt))
        return { state: "expired", expiredAt: BigInt(p.executes.expiresAt) };
    }
    const signers = new Set<Address>([
      ...(await validFileSignatures(p, owners)).map((s) => getAddress(s.signer)),
      ...(await onChainApprovals(client, p, owners, blockNumber)),
    ]);
    return { state: "awaiting-signatures", have: signers.size, need: Number(threshold), signers: [...signers].sort() };
  }
  if (!(await executedBySafe(client, p, blockNumber, executions))) return { state: "superseded" };
  if (!p.timelock || p.timelock.targets.length === 0) return { state: "executed" };
  return timelockStatus(client, p.timelock.address, p.timelock.operationId, blockNumber, toolExpiration(p));
}

/**
 * Whether the Safe ran this proposal's transaction (its ExecutionSuccess event) between the
 * proposal's planning and the block: from `known` when it covers them, else scanned.
 */
async function executedBySafe(
  client: PublicClient,
  p: ProposalFile,
  blockNumber?: bigint,
  known?: SafeExecutions,
): Promise<boolean> {
  const at = blockNumber ?? (await client.getBlockNumber());
  const plannedAt = BigInt(p.plannedAtBlock);
  const executions =
    known && coversProposal(known, p.safe.address, plannedAt, at)
      ? known
      : await safeExecutions(client, p.safe.address, { fromBlock: plannedAt, to: { number: at } });
  return executions.blocks.has(p.safeTxHash.toLowerCase() as Hex);
}

/** The expiration window this tool enforces for the proposal's operation; undefined when the contract enforces its own. */
export function toolExpiration(p: ProposalFile): bigint | undefined {
  return p.timelock?.expiryEnforcedBy === "tool" ? BigInt(p.timelock.expiration ?? "0") : undefined;
}

/** getTimestamp's marker for a done operation, in OpenZeppelin 4.x and 5.x alike. */
const DONE_TIMESTAMP = 1n;

/**
 * An operation's state from getTimestamp (0: not queued, i.e. cancelled once the Safe scheduled
 * it; 1: done; else the time it became ready), which both OpenZeppelin 4.x and 5.x have. Expiry:
 * the contract's own expiration() (ExpiringTimelock), or `toolExpiration` on a stock timelock,
 * which would still execute it: this tool refuses it instead.
 */
export async function timelockStatus(
  client: PublicClient,
  timelock: Address,
  id: Hex,
  blockNumber?: bigint,
  toolExpiration?: bigint,
): Promise<ProposalStatus> {
  const [eta, contractExpiration, block] = await Promise.all([
    client.readContract({ address: timelock, abi: timelockAbi, functionName: "getTimestamp", args: [id], blockNumber }),
    toolExpiration === undefined
      ? client.readContract({ address: timelock, abi: timelockAbi, functionName: "expiration", blockNumber })
      : Promise.resolve(toolExpiration),
    client.getBlock(blockNumber === undefined ? { blockTag: "latest" } : { blockNumber }),
  ]);
  if (eta === DONE_TIMESTAMP) return { state: "executed" };
  if (eta === 0n) return { state: "cancelled" };
  const expiresAt = eta + contractExpiration;
  if (block.timestamp > expiresAt) return { state: "expired", expiredAt: expiresAt };
  if (block.timestamp >= eta) return { state: "ready", eta, expiresAt };
  return { state: "scheduled", eta };
}
