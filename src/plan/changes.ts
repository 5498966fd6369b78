import {
  decodeFunctionData,
  encodeFunctionData,
  getAddress,
  zeroAddress,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { dstackAppAbi, dstackAppTcbAbi, dstackKmsAbi, ownable2StepAbi, safeAbi, timelockAbi } from "../chain/abis";
import { batchArgs, type OperationBatch } from "../proposal/operation";
import { GOVERNED_SETS, GOVERNED_SETTINGS, type GovernedSet, type GovernedSetting } from "../governed/registry";

/**
 * What one governance call does, typed: the planner emits these, policy reasons about them, and
 * `encodeChange` is the one place they become calldata (`decodeChange` the one way back).
 */
export type Change =
  | { kind: "set.add" | "set.remove"; set: GovernedSet; item: Hex }
  | { kind: "setting"; setting: GovernedSetting; value: unknown }
  | { kind: "safe.add-owner"; owner: Address; threshold: number }
  | { kind: "safe.remove-owner"; prevOwner: Address; owner: Address; threshold: number }
  | { kind: "safe.swap-owner"; prevOwner: Address; oldOwner: Address; newOwner: Address }
  | { kind: "safe.threshold"; threshold: number }
  /** Makes a module (the timelock) able to have the Safe run any call: the route of delayed signer changes. */
  | { kind: "safe.enable-module"; module: Address }
  /** A signer change the timelock, a module of `safe`, has the Safe make to itself (after the delay). */
  | { kind: "safe.through-module"; safe: Address; inner: Change }
  | { kind: "timelock.delay"; delay: bigint }
  | { kind: "timelock.expiration"; expiration: bigint }
  | { kind: "timelock.grant-role" | "timelock.revoke-role"; roleId: Hex; account: Address }
  /** To the zero address on a two-step contract: cancels the pending transfer. */
  | { kind: "owner.transfer"; newOwner: Address }
  | { kind: "owner.accept" }
  | { kind: "upgrade"; implementation: Address; data: Hex }
  /** The Safe, as the timelock's executor, runs another proposal's ready batch. */
  | { kind: "timelock.execute"; operation: OperationBatch };

export type ChangeKind = Change["kind"];

export interface EncodedChange {
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  data: Hex;
}

const contractAbi = (contract: "kms" | "app") => (contract === "kms" ? dstackKmsAbi : dstackAppAbi);

function functionOf(change: Change): { abi: Abi; functionName: string; args: readonly unknown[] } {
  switch (change.kind) {
    case "set.add":
    case "set.remove":
      return {
        abi: contractAbi(change.set.contract),
        functionName: change.kind === "set.add" ? change.set.add : change.set.remove,
        args: [change.item],
      };
    case "setting":
      return {
        abi: change.setting.property === "requireTcbUpToDate" ? dstackAppTcbAbi : contractAbi(change.setting.contract),
        functionName: change.setting.setter,
        args: [change.value],
      };
    case "safe.add-owner":
      return { abi: safeAbi, functionName: "addOwnerWithThreshold", args: [change.owner, BigInt(change.threshold)] };
    case "safe.remove-owner":
      return {
        abi: safeAbi,
        functionName: "removeOwner",
        args: [change.prevOwner, change.owner, BigInt(change.threshold)],
      };
    case "safe.swap-owner":
      return { abi: safeAbi, functionName: "swapOwner", args: [change.prevOwner, change.oldOwner, change.newOwner] };
    case "safe.threshold":
      return { abi: safeAbi, functionName: "changeThreshold", args: [BigInt(change.threshold)] };
    case "safe.enable-module":
      return { abi: safeAbi, functionName: "enableModule", args: [change.module] };
    case "safe.through-module":
      return {
        abi: safeAbi,
        functionName: "execTransactionFromModule",
        args: [change.safe, 0n, encodeChange(change.inner).data, 0],
      };
    case "timelock.delay":
      return { abi: timelockAbi, functionName: "updateDelay", args: [change.delay] };
    case "timelock.expiration":
      return { abi: timelockAbi, functionName: "updateExpiration", args: [change.expiration] };
    case "timelock.grant-role":
    case "timelock.revoke-role":
      return {
        abi: timelockAbi,
        functionName: change.kind === "timelock.grant-role" ? "grantRole" : "revokeRole",
        args: [change.roleId, change.account],
      };
    case "owner.transfer":
      return { abi: dstackKmsAbi, functionName: "transferOwnership", args: [change.newOwner] };
    case "owner.accept":
      return { abi: ownable2StepAbi, functionName: "acceptOwnership", args: [] };
    case "upgrade":
      return { abi: dstackKmsAbi, functionName: "upgradeToAndCall", args: [change.implementation, change.data] };
    case "timelock.execute":
      return { abi: timelockAbi, functionName: "executeBatch", args: batchArgs(change.operation) };
  }
}

/** The one encoder of governed calls: a typed change → its function, arguments and calldata. */
export function encodeChange(change: Change): EncodedChange {
  const { abi, functionName, args } = functionOf(change);
  return { abi, functionName, args, data: encodeFunctionData({ abi, functionName, args } as never) };
}

const address = (value: unknown) => getAddress(value as Address);

/** A decoded call (function name and arguments, as viem decodes calldata) → its typed change; undefined when it governs nothing this tool knows. */
export function decodeChange(functionName: string, args: readonly unknown[]): Change | undefined {
  const [a, b, c] = args;
  const set = GOVERNED_SETS.find((s) => s.add === functionName || s.remove === functionName);
  if (set) return { kind: set.add === functionName ? "set.add" : "set.remove", set, item: a as Hex };
  const setting = GOVERNED_SETTINGS.find((s) => s.setter === functionName);
  if (setting) return { kind: "setting", setting, value: a };
  switch (functionName) {
    case "addOwnerWithThreshold":
      return { kind: "safe.add-owner", owner: address(a), threshold: Number(b) };
    case "removeOwner":
      return { kind: "safe.remove-owner", prevOwner: address(a), owner: address(b), threshold: Number(c) };
    case "swapOwner":
      return { kind: "safe.swap-owner", prevOwner: address(a), oldOwner: address(b), newOwner: address(c) };
    case "changeThreshold":
      return { kind: "safe.threshold", threshold: Number(a) };
    case "enableModule":
      return { kind: "safe.enable-module", module: address(a) };
    case "execTransactionFromModule": {
      // Only a plain call of a Safe signer change is one: anything else a module does is not governed here.
      const inner = args[1] === 0n && args[3] === 0 ? decodeCallData(c as Hex) : undefined;
      return inner?.kind.startsWith("safe.") && inner.kind !== "safe.through-module"
        ? { kind: "safe.through-module", safe: address(a), inner }
        : undefined;
    }
    case "updateDelay":
      return { kind: "timelock.delay", delay: BigInt(a as bigint) };
    case "updateExpiration":
      return { kind: "timelock.expiration", expiration: BigInt(a as bigint) };
    case "grantRole":
    case "revokeRole":
      return {
        kind: functionName === "grantRole" ? "timelock.grant-role" : "timelock.revoke-role",
        roleId: a as Hex,
        account: address(b),
      };
    case "transferOwnership":
      return { kind: "owner.transfer", newOwner: address(a) };
    case "acceptOwnership":
      return { kind: "owner.accept" };
    case "upgradeToAndCall":
      return { kind: "upgrade", implementation: address(a), data: b as Hex };
    case "executeBatch": {
      const [targets, values, payloads, predecessor, salt] = args as [Address[], bigint[], Hex[], Hex, Hex];
      return { kind: "timelock.execute", operation: { targets, values, payloads, predecessor, salt } };
    }
    default:
      return undefined;
  }
}

const GOVERNED_CALLS_ABI: Abi = [
  ...dstackKmsAbi,
  ...dstackAppAbi,
  ...dstackAppTcbAbi,
  ...ownable2StepAbi,
  ...safeAbi,
  ...timelockAbi,
];

/** Calldata (as signed, or as a proposal file stores it) → its typed change; undefined when unknown. */
export function decodeCallData(data: Hex): Change | undefined {
  try {
    const decoded = decodeFunctionData({ abi: GOVERNED_CALLS_ABI, data });
    return decodeChange(decoded.functionName, decoded.args ?? []);
  } catch {
    return undefined;
  }
}

/** Changes that only take authorization away (a tighter set, one signer fewer): emergencies when alone. */
export function revokes(change: Change): boolean {
  switch (change.kind) {
    case "set.remove":
    case "safe.remove-owner":
    case "timelock.revoke-role":
      return true;
    case "setting":
      return (
        (change.setting.property === "allowAnyDevice" && change.value === false) ||
        (change.setting.property === "requireTcbUpToDate" && change.value === true)
      );
    case "owner.transfer":
      return change.newOwner === zeroAddress;
    case "safe.through-module":
      return revokes(change.inner);
    default:
      return false;
  }
}

/** Changes that point a proxy, or the KMS's app factory, at new code. */
export const isImplementationChange = (change: Change) =>
  change.kind === "upgrade" || (change.kind === "setting" && change.setting.property === "appImplementation");

/** The part of governance itself a change alters: what a signer must look at twice. */
export type GovernancePart = "signers" | "timelock" | "ownership" | "upgrade";

/** Every kind is listed, so a new one is classified where it is added (the compiler asks). */
const GOVERNANCE_PARTS: Record<ChangeKind, GovernancePart | undefined> = {
  "set.add": undefined,
  "set.remove": undefined,
  setting: undefined,
  "safe.add-owner": "signers",
  "safe.remove-owner": "signers",
  "safe.swap-owner": "signers",
  "safe.threshold": "signers",
  "safe.enable-module": "signers",
  "safe.through-module": "signers",
  "timelock.delay": "timelock",
  "timelock.expiration": "timelock",
  "timelock.grant-role": "timelock",
  "timelock.revoke-role": "timelock",
  "owner.transfer": "ownership",
  "owner.accept": "ownership",
  upgrade: "upgrade",
  // Runs a batch another proposal queued; that proposal's packet warned about its calls.
  "timelock.execute": undefined,
};

/** Which part of governance itself a change alters; undefined for the governed items and settings. */
export function governancePartOf(change: Change): GovernancePart | undefined {
  return isImplementationChange(change) ? "upgrade" : GOVERNANCE_PARTS[change.kind];
}

/** The code an implementation change points at. */
export function implementationOf(change: Change): Address {
  if (change.kind === "upgrade") return change.implementation;
  if (change.kind === "setting" && change.setting.property === "appImplementation") return address(change.value);
  throw new Error(`${change.kind} sets no implementation`);
}
