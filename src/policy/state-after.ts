import { decodeFunctionData, getAddress, zeroAddress, type Address, type Hex } from "viem";
import { safeAbi } from "../chain/abis";
import type { LiveState } from "../chain/read-state";
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

function applySet(set: Hex[], call: PlannedCall, add: string, remove: string): Hex[] {
  if (call.functionName !== add && call.functionName !== remove) return set;
  const hash = (call.args[0] as Hex).toLowerCase() as Hex;
  return call.functionName === remove ? set.filter((h) => h !== hash) : set.includes(hash) ? set : [...set, hash];
}

function applySafe(
  safe: NonNullable<StateAfter["safe"]>,
  call: Pick<PlannedCall, "functionName" | "args">,
): NonNullable<StateAfter["safe"]> {
  const a = call.args;
  switch (call.functionName) {
    // A signer change routed through the timelock module: the Safe calls itself with the inner data.
    case "execTransactionFromModule": {
      const inner = decodeFunctionData({ abi: safeAbi, data: a[2] as Hex });
      return applySafe(safe, { functionName: inner.functionName, args: inner.args ?? [] });
    }
    case "addOwnerWithThreshold":
      return { ...safe, owners: [getAddress(a[0] as Address), ...safe.owners], threshold: Number(a[1]) };
    case "removeOwner":
      return { ...safe, owners: safe.owners.filter((o) => o !== getAddress(a[1] as Address)), threshold: Number(a[2]) };
    case "swapOwner":
      return {
        ...safe,
        owners: safe.owners.map((o) => (o === getAddress(a[1] as Address) ? getAddress(a[2] as Address) : o)),
      };
    case "changeThreshold":
      return { ...safe, threshold: Number(a[0]) };
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
    if (state.safe && call.to === state.safe.address) state.safe = applySafe(state.safe, call);
    else if (state.timelock && call.to === state.timelock.address) {
      if (call.functionName === "updateDelay") state.timelock.delay = BigInt(call.args[0] as bigint);
      if (call.functionName === "updateExpiration") state.timelock.expiration = BigInt(call.args[0] as bigint);
    } else if (call.resource === "kms")
      state.osImages = applySet(state.osImages, call, "addOsImageHash", "removeOsImageHash");
    else if (call.resource.startsWith("app:")) {
      const name = call.resource.slice(4);
      state.composeHashes[name] = applySet(
        state.composeHashes[name] ?? [],
        call,
        "addComposeHash",
        "removeComposeHash",
      );
    }
    // transferOwnership(0) on a two-step contract cancels a pending transfer: the owner stays.
    if (call.functionName === "transferOwnership" && call.args[0] !== zeroAddress)
      state.owners[call.resource] = getAddress(call.args[0] as Address);
    if (call.functionName === "acceptOwnership") state.owners[call.resource] = call.sender;
  }
  return state;
}
