import type { Address, Hex } from "viem";
import type { Change } from "./changes";

/** Which resource a call belongs to: how preview groups the changes. */
export type ResourceKey = "safe" | "timelock" | "kms" | `app:${string}`;

export interface PlannedCall {
  resource: ResourceKey;
  /** The declared property this call reconciles, e.g. "osImages", "threshold", "implementation". */
  property: string;
  to: Address;
  value: bigint;
  data: Hex;
  /** What the call does, typed: what policy and the packet reason about. */
  change: Change;
  /** The function and arguments `change` encodes to (for display and the Transaction Builder). */
  functionName: string;
  args: readonly unknown[];
  /** Who must be msg.sender: the contract's live owner, the Safe itself, or the timelock itself. */
  sender: Address;
  /** One line a reviewer reads, with the exact hash, address or value. */
  description: string;
  /** A removal of authorization (revocation), from `change`: removal-only proposals are emergencies. */
  revokes: boolean;
}
