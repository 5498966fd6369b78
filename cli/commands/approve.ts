import type { WalletClient } from "viem";
import { safeAbi } from "../../src/chain/abis";
import { approveProposal } from "../../src/proposal/execute";
import { describeStatus, proposalStatus } from "../../src/proposal/status";
import type { ProposalFile } from "../../src/proposal/types";
import { verifyProposalFile } from "../../src/proposal/verify";
import type { Stack } from "../../src/reconcile/stack";
import { assertSameChain } from "../stack";

/** approveHash from the key's owner account: a signature recorded on chain instead of in the file. */
export async function approveProposalOnChain(
  stack: Stack,
  wallet: WalletClient,
  proposal: ProposalFile,
): Promise<string> {
  assertSameChain(stack, proposal);
  await verifyProposalFile(stack.client, stack.config, proposal, stack.scans);
  const owner = wallet.account!.address;
  const status = await proposalStatus(stack.client, proposal);
  if (status.state !== "awaiting-signatures")
    throw new Error(`proposal ${proposal.id} is ${describeStatus(status)}: there is nothing to approve`);
  const owners = await stack.client.readContract({
    address: proposal.safe.address,
    abi: safeAbi,
    functionName: "getOwners",
  });
  if (!owners.includes(owner))
    throw new Error(`${owner} is not an owner of Safe ${proposal.safe.address}: only owners can approve`);
  // A second approval of an owner who already counts would spend gas and change nothing.
  if (status.signers.includes(owner))
    return `${owner} already counts for proposal ${proposal.id}: ${describeStatus(status)}`;
  const tx = await approveProposal(stack.client, wallet, proposal);
  return `approved proposal ${proposal.id} as ${owner} in transaction ${tx}: ${describeStatus(await proposalStatus(stack.client, proposal))}`;
}
