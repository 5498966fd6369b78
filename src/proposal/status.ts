import { getAddress, type Address, type Hex, type PublicClient } from "viem";
import { safeAbi, timelockAbi } from "../chain/abis";
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

/** Derives a proposal's status from the chain alone; the file only says what to look for. */
export async function proposalStatus(
  client: PublicClient,
  p: ProposalFile,
  blockNumber?: bigint,
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
    const signers = new Set<Address>([
      ...(await validFileSignatures(p, owners)).map((s) => getAddress(s.signer)),
      ...(await onChainApprovals(client, p, owners, blockNumber)),
    ]);
    return { state: "awaiting-signatures", have: signers.size, need: Number(threshold), signers: [...signers].sort() };
  }
  const executions = await client.getLogs({
    address: p.safe.address,
    event: safeAbi.find((item) => item.type === "event" && item.name === "ExecutionSuccess")!,
    args: { txHash: p.safeTxHash },
    fromBlock: BigInt(p.plannedAtBlock),
    toBlock: blockNumber ?? "latest",
  } as never);
  if (executions.length === 0) return { state: "superseded" };
  if (!p.timelock || p.timelock.targets.length === 0) return { state: "executed" };
  return timelockStatus(client, p.timelock.address, p.timelock.operationId, blockNumber);
}

export async function timelockStatus(
  client: PublicClient,
  timelock: Address,
  id: Hex,
  blockNumber?: bigint,
): Promise<ProposalStatus> {
  const [state, eta, expiration, expired, block] = await Promise.all([
    client.readContract({
      address: timelock,
      abi: timelockAbi,
      functionName: "getOperationState",
      args: [id],
      blockNumber,
    }),
    client.readContract({ address: timelock, abi: timelockAbi, functionName: "getTimestamp", args: [id], blockNumber }),
    client.readContract({ address: timelock, abi: timelockAbi, functionName: "expiration", blockNumber }),
    client.readContract({
      address: timelock,
      abi: timelockAbi,
      functionName: "isOperationExpired",
      args: [id],
      blockNumber,
    }),
    client.getBlock(blockNumber === undefined ? { blockTag: "latest" } : { blockNumber }),
  ]);
  if (state === 3) return { state: "executed" };
  if (state === 0) return { state: "cancelled" };
  if (expired) return { state: "expired", expiredAt: eta + expiration };
  if (state === 2 || block.timestamp >= eta) return { state: "ready", eta, expiresAt: eta + expiration };
  return { state: "scheduled", eta };
}
