import { getAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signProposal } from "../../src/proposal/execute";
import { writeProposalFiles } from "../../src/proposal/files";
import type { ProposalFile } from "../../src/proposal/types";

/**
 * Adds the key owner's signature and rewrites the proposal's files atomically. Offline: signing
 * needs only the file, and signProposal refuses a file that no longer matches its calls.
 */
export async function signProposalFile(root: string, proposal: ProposalFile, privateKey: Hex): Promise<string> {
  const signer = privateKeyToAccount(privateKey).address;
  const alreadySigned = proposal.signatures.some((s) => getAddress(s.signer) === signer);
  const signed = await signProposal(proposal, privateKey);
  await writeProposalFiles(root, signed);
  const count = `${signed.signatures.length} of ${signed.safe.threshold} signatures in the file`;
  return alreadySigned ? `proposal ${signed.id} already carries ${signer}'s signature: ${count}` : `signed proposal ${signed.id} as ${signer}: ${count}`;
}
