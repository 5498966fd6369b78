import { getAddress, recoverAddress, type Address, type Hex, type PublicClient } from "viem";
import { safeAbi } from "../chain/abis";
import type { ProposalFile } from "./types";

/** A signature that would not count: not over this proposal's hash, or not from a current owner. */
export class SignatureRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SignatureRefusedError";
  }
}

/** Only a current on-chain owner of the Safe may sign: the file's own owner list is never trusted. */
export async function assertCurrentOwner(client: PublicClient, safe: Address, signer: Address, blockNumber?: bigint): Promise<void> {
  const owners = await client.readContract({ address: safe, abi: safeAbi, functionName: "getOwners", blockNumber });
  if (!owners.map((o) => getAddress(o)).includes(getAddress(signer))) throw new SignatureRefusedError(`${getAddress(signer)} is not an owner of Safe ${getAddress(safe)} on chain: only its owners can sign`);
}

/**
 * Adds a signature over the proposal's Safe tx hash, however it was made (a key here, a hardware
 * wallet, another tool): its signer is recovered from the hash and must be a current owner.
 */
export async function addSignature(client: PublicClient, p: ProposalFile, signature: Hex): Promise<ProposalFile> {
  const signer = await recoverAddress({ hash: p.safeTxHash, signature }).catch(() => undefined);
  if (!signer) throw new SignatureRefusedError(`the signature is not a valid signature of Safe tx hash ${p.safeTxHash}`);
  await assertCurrentOwner(client, p.safe.address, signer);
  const signatures = [...p.signatures.filter((s) => getAddress(s.signer) !== signer), { signer, data: signature }];
  return { ...p, signatures: signatures.sort((a, b) => a.signer.localeCompare(b.signer)) };
}
