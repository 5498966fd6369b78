import type { Address } from "viem";
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
    const change = call.change;
    if (before.timelock && after.timelock && call.to === before.timelock.address) {
      switch (change.kind) {
        case "timelock.delay":
          return `delay ${formatDuration(before.timelock.delay)} → ${formatDuration(after.timelock.delay)}`;
        case "timelock.expiration":
          return `expiration ${formatDuration(before.timelock.expiration ?? 0n)} → ${formatDuration(after.timelock.expiration ?? 0n)}`;
        case "timelock.grant-role":
          return `${change.account} without the role → with it`;
        case "timelock.revoke-role":
          return `${change.account} with the role → without it`;
        default:
          return undefined;
      }
    }
    switch (change.kind) {
      // Two-step ownership: the transfer only names a pending owner, who must accept in a later proposal.
      case "owner.transfer":
        if (proxyOf(live, call.resource)?.twoStepOwnership)
          return `owner ${before.owners[call.resource]} stays, pending owner → ${change.newOwner}; ${ACCEPT_FOLLOW_UP}`;
        return `owner ${before.owners[call.resource]} → ${after.owners[call.resource]}`;
      case "owner.accept":
        return `owner ${before.owners[call.resource]} → ${after.owners[call.resource]}`;
      case "upgrade":
        return `implementation ${implementationOf(live, call.resource)} → ${change.implementation}`;
      case "set.add":
        return `${change.item}: not authorized → authorized`;
      case "set.remove":
        return `${change.item}: authorized → not authorized`;
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
  for (const { change, resource } of calls)
    if (change.kind === "upgrade") implementations[resource] = change.implementation;
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
