import { getAddress, isAddress } from "viem";
import type { Finding } from "../policy/findings";

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** All one case: the address carries no EIP-55 checksum, so a typo in it cannot be detected. */
export function isUnchecksummed(value: string): boolean {
  const digits = value.slice(2);
  return digits === digits.toLowerCase() || digits === digits.toUpperCase();
}

/**
 * Why an address text is not acceptable, or undefined: a mixed-case address must carry a valid
 * EIP-55 checksum (a one-character typo then fails instead of naming someone else).
 */
export function addressProblem(value: string): string | undefined {
  if (!ADDRESS.test(value) || !isAddress(value, { strict: false }))
    return "must be a 0x-prefixed 20-byte address, e.g. 0x2f83172A49584C017F2B256F0FB2Dca14126Ba9C";
  if (!isUnchecksummed(value) && getAddress(value) !== value)
    return `${value} fails its EIP-55 checksum (mixed case that does not match): check it for a typo and copy it again from its source`;
  return undefined;
}

function pathText(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${key}` : key),
    "",
  );
}

/** Every address in a raw config written without a checksum, with its checksummed form. */
export function addressWarnings(raw: unknown, path: (string | number)[] = []): Finding[] {
  if (typeof raw === "string") {
    if (!ADDRESS.test(raw) || !isUnchecksummed(raw) || /^0x[0-9]+$/.test(raw)) return [];
    return [
      {
        rule: "address.checksum",
        path: pathText(path),
        message: `${raw} has no EIP-55 checksum, so a typo in it would go unnoticed`,
        fix: `write it as ${getAddress(raw)}`,
      },
    ];
  }
  if (Array.isArray(raw)) return raw.flatMap((item, i) => addressWarnings(item, [...path, i]));
  if (raw && typeof raw === "object")
    return Object.entries(raw).flatMap(([key, value]) => addressWarnings(value, [...path, key]));
  return [];
}
