import { getAddress, type Address } from "viem";
import type { Change } from "./changes";
import { plannedCall } from "./planned-call";
import type { PlannedCall } from "./types";

/** The head of a Safe's owner linked list. */
export const SENTINEL_OWNER = "0x0000000000000000000000000000000000000001" as const;

interface OwnerStep {
  change: Extract<Change, { kind: `safe.${string}` }>;
  description: string;
}

function prevOwnerOf(owners: readonly Address[], owner: Address): Address {
  const index = owners.indexOf(owner);
  return index <= 0 ? SENTINEL_OWNER : owners[index - 1];
}

/**
 * Safe self-calls that turn the live owners/threshold into the desired ones. Each step is valid
 * on the state the previous one leaves (right prevOwner, 1 <= threshold <= owner count).
 * Swaps first (owner count and threshold unchanged), then additions, then removals, then the
 * threshold if the last step did not already set it.
 */
export function planSafeOwnerSteps(
  live: { owners: readonly Address[]; threshold: number },
  desired: { owners: readonly Address[]; threshold: number },
): OwnerStep[] {
  const wanted = new Set(desired.owners.map((o) => getAddress(o)));
  const owners = live.owners.map((o) => getAddress(o));
  const toRemove = owners.filter((o) => !wanted.has(o));
  const toAdd = [...wanted].filter((o) => !owners.includes(o)).sort();
  let threshold = live.threshold;
  const steps: OwnerStep[] = [];

  while (toRemove.length && toAdd.length) {
    const oldOwner = toRemove.shift()!;
    const newOwner = toAdd.shift()!;
    steps.push({
      change: { kind: "safe.swap-owner", prevOwner: prevOwnerOf(owners, oldOwner), oldOwner, newOwner },
      description: `Safe: replace signer ${oldOwner} with ${newOwner}`,
    });
    owners[owners.indexOf(oldOwner)] = newOwner;
  }
  // All steps run in one Safe transaction, so each moves the threshold as close to the
  // desired one as the owner count after it allows.
  const thresholdChange = (next: number) => (next !== threshold ? ` (threshold ${threshold} → ${next})` : "");
  for (const newOwner of toAdd) {
    owners.unshift(newOwner);
    const next = Math.min(desired.threshold, owners.length);
    steps.push({
      change: { kind: "safe.add-owner", owner: newOwner, threshold: next },
      description: `Safe: add signer ${newOwner}${thresholdChange(next)}`,
    });
    threshold = next;
  }
  for (const oldOwner of toRemove) {
    const prevOwner = prevOwnerOf(owners, oldOwner);
    owners.splice(owners.indexOf(oldOwner), 1);
    const next = Math.min(desired.threshold, owners.length);
    steps.push({
      change: { kind: "safe.remove-owner", prevOwner, owner: oldOwner, threshold: next },
      description: `Safe: remove signer ${oldOwner}${thresholdChange(next)}`,
    });
    threshold = next;
  }
  if (threshold !== desired.threshold) {
    steps.push({
      change: { kind: "safe.threshold", threshold: desired.threshold },
      description: `Safe: threshold ${threshold} → ${desired.threshold} of ${owners.length}`,
    });
  }
  return steps;
}

export function safeOwnerCalls(
  safe: Address,
  live: { owners: readonly Address[]; threshold: number },
  desired: { owners: readonly Address[]; threshold: number },
): PlannedCall[] {
  return planSafeOwnerSteps(live, desired).map((step) =>
    plannedCall({
      resource: "safe",
      property: step.change.kind === "safe.threshold" ? "threshold" : "owners",
      to: safe,
      sender: safe,
      change: step.change,
      description: step.description,
    }),
  );
}
