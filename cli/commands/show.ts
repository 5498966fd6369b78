import { signerPacket } from "../../src/proposal/files";
import type { ProposalFile } from "../../src/proposal/types";
import { verifyProposal } from "../../src/proposal/verify";

/** The signer packet, rebuilt from the file only after the file is proven to match its calls. */
export function showProposal(proposal: ProposalFile): string {
  verifyProposal(proposal);
  return signerPacket(proposal);
}
