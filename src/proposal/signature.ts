import { getAddress, hashMessage, hexToNumber, isHex, recoverAddress, size, slice, type Address, type Hex } from "viem";
import { safeTxHashes } from "./safe-tx";
import type { FileSignature, ProposalFile } from "./types";
import { verifyProposal } from "./verify";

/**
 * The owner a 65-byte Safe signature recovers to for this Safe tx hash: v 27/28 signs the hash
 * itself (EIP-712: Ledger, cast, Safe{Wallet}), v 31/32 signs it as an eth_sign message.
 */
export async function recoverSafeSigner(safeTxHash: Hex, signature: Hex): Promise<Address | undefined> {
  if (!isHex(signature) || size(signature) !== 65) return undefined;
  const v = hexToNumber(slice(signature, 64, 65));
  try {
    if (v === 27 || v === 28) return getAddress(await recoverAddress({ hash: safeTxHash, signature }));
    if (v === 31 || v === 32)
      return getAddress(
        await recoverAddress({
          hash: hashMessage({ raw: safeTxHash }),
          signature: `${slice(signature, 0, 64)}${(v - 4).toString(16)}` as Hex,
        }),
      );
  } catch {
    return undefined;
  }
  return undefined;
}

/** "0x" + 130 hex digits; v 0/1 (some signers' form) becomes 27/28, the form the Safe checks. */
export function parseSignature(text: string): Hex {
  const trimmed = text.trim();
  const signature = (trimmed.startsWith("0x") ? trimmed : `0x${trimmed}`).toLowerCase();
  if (!isHex(signature) || size(signature) !== 65)
    throw new Error("--signature: expected 65 bytes (r, s, v) as 0x + 130 hex digits");
  const v = hexToNumber(slice(signature, 64, 65));
  return v === 0 || v === 1 ? (`${slice(signature, 0, 64)}${(v + 27).toString(16)}` as Hex) : (signature as Hex);
}

/**
 * Adds a signature made elsewhere (hardware wallet, Safe{Wallet}, cast) once the file is proven
 * to match its calls and the signature recovers to one of `owners` (the Safe's current owners)
 * for this exact Safe tx hash. Refuses otherwise: the caller writes nothing.
 */
export async function addExternalSignature(
  p: ProposalFile,
  signature: Hex,
  owners: readonly Address[],
): Promise<{ proposal: ProposalFile; signer: Address }> {
  verifyProposal(p);
  const { safeTxHash } = safeTxHashes(p.chainId, p.safe.address, p.safeTx);
  const signer = await recoverSafeSigner(safeTxHash, signature);
  if (!signer)
    throw new Error(
      `the signature is not a valid ECDSA signature (v 27/28 for EIP-712, 31/32 for eth_sign) of Safe tx hash ${safeTxHash}`,
    );
  if (!owners.map((o) => getAddress(o)).includes(signer)) {
    throw new Error(
      `the signature recovers to ${signer}, which is not a current owner of Safe ${p.safe.address}: it was made by another key or over another hash than ${safeTxHash}; nothing written`,
    );
  }
  const signatures: FileSignature[] = [
    ...p.signatures.filter((s) => getAddress(s.signer) !== signer),
    { signer, data: signature },
  ];
  return { proposal: { ...p, signatures: signatures.sort((a, b) => a.signer.localeCompare(b.signer)) }, signer };
}
