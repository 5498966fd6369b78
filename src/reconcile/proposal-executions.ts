import { getAddress, type Hex } from "viem";
import { safeExecutions, type SafeExecutions } from "../chain/safe-executions";
import type { ProposalFile } from "../proposal/types";
import type { Stack } from "./stack";

/**
 * The stack Safe's executions up to the block, since the oldest of these proposals whose Safe nonce
 * is used (executed or superseded: its ExecutionSuccess tells which; with the nonce unknown, the
 * oldest of all), in one scan resuming from the stack's checkpoint; none when no proposal needs them.
 */
export async function executionsOfProposals(
  stack: Stack,
  proposals: readonly ProposalFile[],
  at: { number: bigint; hash: Hex },
  safeNonce?: bigint,
): Promise<SafeExecutions | undefined> {
  const governance = stack.config.governance;
  if (governance.mode === "direct") return undefined;
  const safe = governance.safe.address;
  const [fromBlock] = proposals
    .filter((p) => getAddress(p.safe.address) === safe && (safeNonce === undefined || BigInt(p.safe.nonce) < safeNonce))
    .map((p) => BigInt(p.plannedAtBlock))
    .sort((a, b) => (a < b ? -1 : 1));
  if (fromBlock === undefined) return undefined;
  return safeExecutions(stack.client, safe, { fromBlock, to: at }, stack.scans.executions);
}
