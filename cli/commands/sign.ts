import { existsSync, readFileSync } from "node:fs";
import { getAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { safeAbi } from "../../src/chain/abis";
import { signProposal } from "../../src/proposal/execute";
import { writeProposalFiles } from "../../src/proposal/files";
import { addExternalSignature, parseSignature } from "../../src/proposal/signature";
import type { ProposalFile } from "../../src/proposal/types";
import type { Stack } from "../../src/reconcile/reconcile";
import { assertSameChain } from "../stack";

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
  const owners = await stack.client.readContract({
    address: proposal.safe.address,
    abi: safeAbi,
    functionName: "getOwners",
  });
  const { proposal: signed, signer } = await addExternalSignature(proposal, signature, owners);
  await writeProposalFiles(stack.root, signed);
  return `added ${signer}'s signature to proposal ${signed.id}: ${signed.signatures.length} of ${signed.safe.threshold} signatures in the file`;
}
