import { existsSync, readFileSync } from "node:fs";
import { getAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signProposal } from "../../src/proposal/execute";
import { writeProposalFiles } from "../../src/proposal/files";
import { addExternalSignature, parseSignature } from "../../src/proposal/signature";
import type { ProposalFile } from "../../src/proposal/types";
import { verifyProposalFile } from "../../src/proposal/verify";
import { packetContext } from "../../src/reconcile/reconcile";
import type { Stack } from "../../src/reconcile/stack";
import { assertSameChain, trackedProposals } from "../stack";

/**
 * Adds the key owner's signature and rewrites the proposal's files atomically, after checking the
 * file against its calldata and the chain; only a current on-chain owner of the Safe can sign.
 */
export async function signProposalFile(stack: Stack, proposal: ProposalFile, privateKey: Hex): Promise<string> {
  assertSameChain(stack, proposal);
  const safe = await verifyProposalFile(stack.client, stack.config, proposal, stack.scans);
  const signer = privateKeyToAccount(privateKey).address;
  const alreadySigned = proposal.signatures.some((s) => getAddress(s.signer) === signer);
  const signed = await signProposal(stack.client, proposal, privateKey);
  await writeProposalFiles(stack.root, signed, packetContext(signed, await trackedProposals(stack), safe));
  const count = `${signed.signatures.length} of ${safe.threshold} signatures in the file`;
  return alreadySigned
    ? `proposal ${signed.id} already carries ${signer}'s signature: ${count}`
    : `signed proposal ${signed.id} as ${signer}: ${count}`;
}

/** `--signature 0x…` or the name of a file holding it (what `cast wallet sign > sig.txt` leaves). */
export function readSignatureArgument(value: string): Hex {
  const text =
    /^(0x)?[0-9a-fA-F]{130}\s*$/.test(value.trim()) || !existsSync(value) ? value : readFileSync(value, "utf8");
  return parseSignature(text);
}

/**
 * Adds a signature made elsewhere (Ledger through `cast wallet sign --ledger --data`, Safe{Wallet},
 * any EIP-712 signer of `gov show --typed-data`) once it recovers to a CURRENT on-chain owner for
 * this proposal's Safe tx hash. A refused signature leaves every file as it was.
 */
export async function addSignatureToFile(stack: Stack, proposal: ProposalFile, signature: Hex): Promise<string> {
  assertSameChain(stack, proposal);
  const safe = await verifyProposalFile(stack.client, stack.config, proposal, stack.scans);
  const { proposal: signed, signer } = await addExternalSignature(proposal, signature, safe.owners);
  await writeProposalFiles(stack.root, signed, packetContext(signed, await trackedProposals(stack), safe));
  return `added ${signer}'s signature to proposal ${signed.id}: ${signed.signatures.length} of ${safe.threshold} signatures in the file`;
}
