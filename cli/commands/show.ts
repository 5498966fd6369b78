import { signerPacket } from "../../src/proposal/packet";
import { safeTxTypedData } from "../../src/proposal/safe-tx";
import type { ProposalFile } from "../../src/proposal/types";
import { verifyProposalFile } from "../../src/proposal/verify";
import { packetContext } from "../../src/reconcile/reconcile";
import type { Stack } from "../../src/reconcile/stack";
import { assertSameChain, trackedProposals } from "../stack";

/**
 * The signer packet, rebuilt only after the file is proven to match its calldata and the Safe on
 * chain; owners, threshold and the other proposals' queued operations are read from the chain.
 */
export async function showProposal(stack: Stack, proposal: ProposalFile): Promise<string> {
  assertSameChain(stack, proposal);
  const safe = await verifyProposalFile(stack.client, stack.config, proposal, stack.scans);
  return signerPacket(proposal, packetContext(proposal, await trackedProposals(stack), safe));
}

/** The EIP-712 JSON an external signer takes (`cast wallet sign --data --from-file`, eth_signTypedData_v4). */
export async function showTypedData(stack: Stack, proposal: ProposalFile): Promise<string> {
  assertSameChain(stack, proposal);
  await verifyProposalFile(stack.client, stack.config, proposal, stack.scans);
  return JSON.stringify(safeTxTypedData(proposal.chainId, proposal.safe.address, proposal.safeTx), null, 2);
}
