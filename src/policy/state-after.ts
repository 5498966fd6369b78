import { zeroAddress, type Address, type Hex } from "viem";
import type { LiveState } from "../chain/read-state";
import type { Change } from "../plan/changes";
import type { PlannedCall } from "../plan/types";

/** What the chain holds once a proposal's calls have all run, derived from the calls themselves. */
export interface StateAfter {
  safe?: { address: Address; owners: Address[]; threshold: number };
  /** expiration is undefined on a stock timelock: this tool enforces the declared window instead. */
  timelock?: { address: Address; delay: bigint; expiration?: bigint };
  osImages: Hex[];
  /** By app name. */
  composeHashes: Record<string, Hex[]>;
  /** By resource ("kms", "app:<name>"): the owner, or the pending owner a two-step transfer names. */
  owners: Record<string, Address>;
}

function applySet(set: Hex[], call: PlannedCall, property: "osImages" | "composeHashes"): Hex[] {
  const change = call.change;
  if ((change.kind !== "set.add" && change.kind !== "set.remove") || change.set.property !== property) return set;
  const hash = change.item.toLowerCase() as Hex;
  if (change.kind === "set.remove") return set.filter((h) => h !== hash);
  return set.includes(hash) ? set : [...set, hash];
}

function applySafe(safe: NonNullable<StateAfter["safe"]>, change: Change): NonNullable<StateAfter["safe"]> {
  switch (change.kind) {
    case "safe.add-owner":
      return { ...safe, owners: [change.owner, ...safe.owners], threshold: change.threshold };
    case "safe.remove-owner":
      return { ...safe, owners: safe.owners.filter((o) => o !== change.owner), threshold: change.threshold };
    case "safe.swap-owner":
      return { ...safe, owners: safe.owners.map((o) => (o === change.oldOwner ? change.newOwner : o)) };
    case "safe.threshold":
      return { ...safe, threshold: change.threshold };
    case "safe.through-module":
      return applySafe(safe, change.inner);
    default:
      return safe;
  }
}

/** Replays the calls on the live state, in order, for the properties the policy is about. */
export function stateAfter(live: LiveState, calls: readonly PlannedCall[]): StateAfter {
  const state: StateAfter = {
    safe: live.safe && { address: live.safe.address, owners: [...live.safe.owners], threshold: live.safe.threshold },
    timelock: live.timelock && {
      address: live.timelock.address,
      delay: live.timelock.delay,
      expiration: live.timelock.expiration,
    },
    osImages: [...live.kms.osImages],
    composeHashes: Object.fromEntries(live.apps.map((app) => [app.name, [...app.composeHashes]])),
    owners: Object.fromEntries([["kms", live.kms.owner], ...live.apps.map((app) => [`app:${app.name}`, app.owner])]),
  };
  for (const call of calls) {
    const change = call.change;
    if (state.safe && call.to === state.safe.address) state.safe = applySafe(state.safe, change);
    else if (state.timelock && call.to === state.timelock.address) {
      if (change.kind === "timelock.delay") state.timelock.delay = change.delay;
      if (change.kind === "timelock.expiration") state.timelock.expiration = change.expiration;
    } else if (call.resource === "kms") state.osImages = applySet(state.osImages, call, "osImages");
    else if (call.resource.startsWith("app:")) {
      const name = call.resource.slice(4);
      state.composeHashes[name] = applySet(state.composeHashes[name] ?? [], call, "composeHashes");
    }
    // transferOwnership(0) on a two-step contract cancels a pending transfer: the owner stays.
    if (change.kind === "owner.transfer" && change.newOwner !== zeroAddress)
      state.owners[call.resource] = change.newOwner;
    if (change.kind === "owner.accept") state.owners[call.resource] = call.sender;
  }
  return state;
}
