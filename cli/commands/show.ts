import { signerPacket } from "../../src/proposal/files";
import type { ProposalFile } from "../../src/proposal/types";
import { verifyProposalFile } from "../../src/proposal/verify";
import type { Stack } from "../../src/reconcile/reconcile";
import { assertSameChain, trackedProposals } from "../stack";
import { packetContext } from "../../src/reconcile/reconcile";

/**
 * The signer packet, rebuilt only after the file is proven to match its calldata and the Safe on
 * chain; owners, threshold and the other proposals' queued operations are read from the chain.
 */
export async function showProposal(stack: Stack, proposal: ProposalFile): Promise<string> {
  assertSameChain(stack, proposal);
  const safe = await verifyProposalFile(stack.client, stack.config, proposal);
  return signerPacket(proposal, packetContext(proposal, await trackedProposals(stack), safe));
}
