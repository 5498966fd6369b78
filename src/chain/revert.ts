import { BaseError, decodeErrorResult, type Abi, type Hex } from "viem";
import { dstackAppAbi, dstackKmsAbi, safeAbi, timelockAbi } from "./abis";

// viem adds Error(string) and Panic(uint256) to any ABI it decodes errors with.
const knownErrors: Abi = [...dstackKmsAbi, ...dstackAppAbi, ...timelockAbi, ...safeAbi].filter(
  (item) => item.type === "error",
);

/** The revert data inside a viem error, if the node returned any. */
export function revertDataOf(error: unknown): Hex | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const raw = error.walk((e) => typeof (e as { data?: unknown }).data === "string") as { data?: Hex } | null;
  return raw?.data;
}

/** Human text for revert data: Error(string), Panic, or any custom error of the governed contracts. */
export function describeRevert(data: Hex | undefined, fallback: string): string {
  if (!data || data === "0x") return fallback;
  try {
    const decoded = decodeErrorResult({ abi: knownErrors, data });
    if (decoded.errorName === "Error") return String(decoded.args?.[0]);
    return `${decoded.errorName}(${(decoded.args ?? []).map(String).join(", ")})`;
  } catch {
    return `${fallback} (revert data ${data})`;
  }
}
