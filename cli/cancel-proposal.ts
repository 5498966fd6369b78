import { encodeAbiParameters, encodeFunctionData, getAddress, keccak256, zeroHash, type Address, type Hex } from "viem";
import { timelockAbi } from "../src/chain/abis";
import type { LiveState } from "../src/chain/read-state";
import { createSafeTransaction } from "../src/proposal/safe-tx";
import { simulateSafeTransaction } from "../src/proposal/simulate";
import type { ProposalFile, TimelockOperation } from "../src/proposal/types";
import { verifyProposal } from "../src/proposal/verify";
import type { Stack } from "../src/reconcile/reconcile";

/**
 * TimelockController.hashOperationBatch, computed locally: verifyProposal does not check a file's
 * operationId, so the id to cancel is derived from the batch the signers approved, not trusted.
 */
export function operationIdOf(operation: TimelockOperation): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "address[]" }, { type: "uint256[]" }, { type: "bytes[]" }, { type: "bytes32" }, { type: "bytes32" }],
      [operation.targets, operation.values.map(BigInt), operation.payloads, operation.predecessor, operation.salt],
    ),
  );
}

/**
 * A proposal whose Safe transaction only calls timelock.cancel(operationId): no calls, no batch of
 * its own (so its operationId and salt are zero), at the Safe's next nonce so it can run at once.
 * Simulated in the Safe's context (the Safe must hold the canceller role) and verified before use.
 */
export async function buildCancelProposal(stack: Stack, live: LiveState, operation: { timelock: Address; id: Hex }): Promise<ProposalFile> {
  const { safe, timelock } = live;
  if (!safe || !timelock) throw new Error(`stack ${stack.name} has no Safe and timelock: there is no timelock operation to cancel`);
  if (getAddress(operation.timelock) !== timelock.address) throw new Error(`operation ${operation.id} is queued in timelock ${operation.timelock}, not in this stack's timelock ${timelock.address}`);
  const data = encodeFunctionData({ abi: timelockAbi, functionName: "cancel", args: [operation.id] });
  const created = await createSafeTransaction({ rpcUrl: stack.config.network.rpcUrls[0], chainId: live.chainId, safe: safe.address, nonce: safe.nonce, calls: [{ to: timelock.address, value: 0n, data }] });
  await simulateSafeTransaction(stack.client, safe.address, created.safeTx, live.blockNumber);
  const proposal: ProposalFile = {
    format: "dstack-governance-proposal/1",
    id: `${safe.nonce}-${created.safeTxHash.slice(2, 10)}`,
    stack: stack.name,
    chainId: live.chainId,
    route: "safe+timelock",
    plannedAtBlock: live.blockNumber.toString(),
    plannedAt: new Date(Number(live.blockTimestamp) * 1000).toISOString(),
    emergency: false,
    safe: { address: safe.address, nonce: safe.nonce.toString(), threshold: safe.threshold, owners: safe.owners },
    safeTx: created.safeTx,
    safeTxHash: created.safeTxHash,
    eip712: { domainHash: created.domainHash, messageHash: created.messageHash },
    timelock: { address: timelock.address, operationId: zeroHash, salt: zeroHash, predecessor: zeroHash, delay: "0", targets: [], values: [], payloads: [], cancels: [operation.id] },
    calls: [],
    signatures: [],
  };
  verifyProposal(proposal);
  return proposal;
}
