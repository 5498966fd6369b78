import { getAddress, type Address } from "viem";
import type { LiveState, ProxyState } from "../chain/read-state";
import { formatDuration } from "../config/duration";
import { ACCEPT_FOLLOW_UP } from "../plan/plan";
import type { PlannedCall } from "../plan/types";
import { stateAfter, type StateAfter } from "../policy/state-after";
import type { ExpectedState } from "./types";

function safeText(safe: NonNullable<StateAfter["safe"]>): string {
  return `owners [${safe.owners.join(", ")}], threshold ${safe.threshold} of ${safe.owners.length}`;
}

/** The live state of a proxy resource ("kms" or "app:<name>"). */
function proxyOf(live: LiveState, resource: string): ProxyState | undefined {
  if (resource === "kms") return live.kms;
  return live.apps.find((app) => `app:${app.name}` === resource);
}

function implementationOf(live: LiveState, resource: string): Address | undefined {
  return proxyOf(live, resource)?.implementation;
}

/**
 * Each call's governed value before → after it runs, replaying the calls in order on the live
 * state, so a signer sees what every call does and not only what it is.
 */
export function callChanges(live: LiveState, calls: readonly PlannedCall[]): (string | undefined)[] {
  return calls.map((call, i) => {
    const before = stateAfter(live, calls.slice(0, i));
    const after = stateAfter(live, calls.slice(0, i + 1));
    if (before.safe && after.safe && call.to === before.safe.address)
      return `${safeText(before.safe)} → ${safeText(after.safe)}`;
    if (before.timelock && after.timelock && call.to === before.timelock.address) {
      if (call.functionName === "updateDelay")
        return `delay ${formatDuration(before.timelock.delay)} → ${formatDuration(after.timelock.delay)}`;
      if (call.functionName === "updateExpiration")
        return `expiration ${formatDuration(before.timelock.expiration ?? 0n)} → ${formatDuration(after.timelock.expiration ?? 0n)}`;
      if (call.functionName === "grantRole") return `${call.args[1]} without the role → with it`;
      if (call.functionName === "revokeRole") return `${call.args[1]} with the role → without it`;
      return undefined;
    }
    // Two-step ownership: the transfer only names a pending owner, who must accept in a later proposal.
    if (call.functionName === "transferOwnership" && proxyOf(live, call.resource)?.twoStepOwnership)
      return `owner ${before.owners[call.resource]} stays, pending owner → ${getAddress(call.args[0] as Address)}; ${ACCEPT_FOLLOW_UP}`;
    if (call.functionName === "transferOwnership" || call.functionName === "acceptOwnership")
      return `owner ${before.owners[call.resource]} → ${after.owners[call.resource]}`;
    if (call.functionName === "upgradeToAndCall")
      return `implementation ${implementationOf(live, call.resource)} → ${getAddress(call.args[0] as Address)}`;
    if (/^(add|remove)/.test(call.functionName) && call.args.length === 1) {
      const added = call.functionName.startsWith("add");
      return added ? `${call.args[0]}: not authorized → authorized` : `${call.args[0]}: authorized → not authorized`;
    }
    return undefined;
  });
}

/** The state the packet promises: what stays and what changes, whole (not the change list again). */
export function expectedState(live: LiveState, calls: readonly PlannedCall[]): ExpectedState {
  const after = stateAfter(live, calls);
  const implementations: Record<string, Address> = {
    kms: live.kms.implementation,
    ...Object.fromEntries(live.apps.map((app) => [`app:${app.name}`, app.implementation])),
  };
  for (const call of calls)
    if (call.functionName === "upgradeToAndCall") implementations[call.resource] = getAddress(call.args[0] as Address);
  return {
    ...(after.safe ? { safe: { owners: after.safe.owners, threshold: after.safe.threshold } } : {}),
    ...(after.timelock
      ? {
          timelock: {
            delay: after.timelock.delay.toString(),
            expiration: (after.timelock.expiration ?? 0n).toString(),
          },
        }
      : {}),
    osImages: [...after.osImages].sort(),
    composeHashes: Object.fromEntries(
      Object.entries(after.composeHashes).map(([name, hashes]) => [name, [...hashes].sort()]),
    ),
    owners: after.owners,
    implementations,
  };
}
