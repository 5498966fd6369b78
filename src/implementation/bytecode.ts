import type { Hex } from "viem";
import type { ImmutableReferences } from "./artifact";

/**
 * How deployed runtime code compares with a compiled artifact, the way source verifiers (Sourcify,
 * Etherscan) decide it: immutables are the constructor's to fill in, so their byte ranges are
 * ignored; "full" = the rest is identical, metadata hash included; "partial" = only the CBOR
 * metadata at the end differs (same executable code, e.g. other comments or paths); else "none".
 */
export type BytecodeMatch = { match: "full" | "partial"; reason?: undefined } | { match: "none"; reason: string };

function bytes(code: Hex): Uint8Array {
  return Buffer.from(code.slice(2), "hex");
}

/** The code without its trailing CBOR metadata (solc appends it with its length in the last 2 bytes). */
function withoutMetadata(code: Uint8Array): Uint8Array {
  if (code.length < 2) return code;
  const length = (code[code.length - 2] << 8) | code[code.length - 1];
  const start = code.length - 2 - length;
  // A CBOR map of 1 to 5 entries starts solc's metadata; anything else is not metadata.
  if (length === 0 || start < 0 || code[start] < 0xa1 || code[start] > 0xa5) return code;
  return code.subarray(0, start);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export function compareRuntimeBytecode(
  onChain: Hex,
  artifact: { deployedBytecode: Hex; immutableReferences: ImmutableReferences },
): BytecodeMatch {
  const chain = Uint8Array.from(bytes(onChain));
  const compiled = bytes(artifact.deployedBytecode);
  if (chain.length !== compiled.length)
    return { match: "none", reason: `the deployed code is ${chain.length} bytes, the artifact's ${compiled.length}` };
  for (const { start, length } of Object.values(artifact.immutableReferences).flat())
    chain.fill(0, start, start + length);
  if (equal(chain, compiled)) return { match: "full" };
  const a = withoutMetadata(chain);
  const b = withoutMetadata(compiled);
  if (a.length === b.length && equal(a, b)) return { match: "partial" };
  const first = a.findIndex((byte, i) => byte !== b[i]);
  return { match: "none", reason: `the executable code differs from byte ${first} on` };
}
