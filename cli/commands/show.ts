import { signerPacket } from "../../src/proposal/packet";
import { safeTxTypedData } from "../../src/proposal/safe-tx";
import type { ProposalFile } from "../../src/proposal/types";
import { verifyProposal } from "../../src/proposal/verify";

/** The signer packet, rebuilt from the file only after the file is proven to match its calls. */
export function showProposal(proposal: ProposalFile): string {
  verifyProposal(proposal);
  return signerPacket(proposal);
}

/** The EIP-712 JSON an external signer takes (`cast wallet sign --data --from-file`, eth_signTypedData_v4). */
export function showTypedData(proposal: ProposalFile): string {
  verifyProposal(proposal);
  return JSON.stringify(safeTxTypedData(proposal.chainId, proposal.safe.address, proposal.safeTx), null, 2);
}
