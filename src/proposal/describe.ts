import {
  decodeFunctionData,
  encodeFunctionData,
  getAbiItem,
  getAddress,
  keccak256,
  slice,
  stringToHex,
  toFunctionSignature,
  zeroAddress,
  type Abi,
  type AbiFunction,
  type Address,
  type Hex,
} from "viem";
import { dstackAppAbi, dstackAppTcbAbi, dstackKmsAbi, ownable2StepAbi, safeAbi, timelockAbi } from "../chain/abis";
import { TIMELOCK_ROLES } from "../chain/read-state";
import { formatDuration } from "../config/duration";
import type { StackConfig } from "../config/schema";
import { describeUpgradeCall, upgradeCallAbi } from "../implementation/call";
import type { GovernedSetting } from "../governed/registry";
import { decodeChange, revokes, type Change } from "../plan/changes";

/** What a configured address is, for describing calls to it. */
export interface ContractLabel {
  /** The plan's resource key: "kms", "app:<name>", "safe", "timelock". */
  resource: string;
  /** How a reader names it: "KMS", the app's name, "Safe", "Timelock". */
  label: string;
  abi: Abi;
}

/** Every address the stack's config names, with what it is. */
export function contractLabels(config: StackConfig): Map<Address, ContractLabel> {
  const labels = new Map<Address, ContractLabel>();
  labels.set(getAddress(config.kms.proxy), {
    resource: "kms",
    label: "KMS",
    abi: [...dstackKmsAbi, ...ownable2StepAbi],
  });
  for (const app of config.apps)
    labels.set(getAddress(app.proxy), {
      resource: `app:${app.name}`,
      label: app.name,
      abi: [...dstackAppAbi, ...dstackAppTcbAbi, ...ownable2StepAbi],
    });
  const governance = config.governance;
  if (governance.mode !== "direct")
    labels.set(getAddress(governance.safe.address), { resource: "safe", label: "Safe", abi: safeAbi });
  if (governance.mode === "safe+timelock")
    labels.set(getAddress(governance.timelock.address), { resource: "timelock", label: "Timelock", abi: timelockAbi });
  return labels;
}

/** A call as a signer reads it, derived from its target, sender and calldata alone. */
export interface CallText {
  resource: string;
  functionName: string;
  signature: string;
  args: string[];
  description: string;
  /** A removal of authorization: proposals of removals only are emergencies. */
  revokes: boolean;
  /** upgradeToAndCall's data decoded: the signature it was decoded with, when one was given and fits exactly. */
  upgradeCall?: string;
}

// The planner's nouns, so a role call reads the same in preview and in the proposal; 4.x names its admin role apart.
const ROLE_NAMES = new Map<string, string>(
  [...Object.entries(TIMELOCK_ROLES), ["admin", keccak256(stringToHex("TIMELOCK_ADMIN_ROLE"))]].map(([name, id]) => [
    id,
    `${name} role`,
  ]),
);

/** A role holder as the planner names it: open execution, the stack's Safe, the timelock itself, or the address. */
function roleHolder(account: Address, timelock: Address, labels: ReadonlyMap<Address, ContractLabel>): string {
  if (account === zeroAddress) return "anyone";
  if (account === timelock) return "the timelock itself";
  return labels.get(account)?.resource === "safe" ? `the Safe ${account}` : account;
}

function argText(value: unknown): string {
  return typeof value === "object" && value !== null
    ? JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v))
    : String(value);
}

/**
 * upgradeToAndCall's data as `initializeV2("dstack-0.5.4")`, when `signature` has its selector and
 * re-encodes the decoded arguments to exactly the same bytes; else undefined (the data is shown raw).
 */
function decodedUpgradeCall(signature: string | undefined, data: Hex): string | undefined {
  if (!signature || data === "0x") return undefined;
  try {
    const abi = upgradeCallAbi(signature);
    const { args } = decodeFunctionData({ abi: [abi], data });
    return encodeFunctionData({ abi: [abi], args } as never) === data
      ? describeUpgradeCall(signature, data)
      : undefined;
  } catch {
    return undefined;
  }
}

function settingSentence(label: string, property: GovernedSetting["property"], value: unknown): string {
  switch (property) {
    case "gatewayAppId":
      return `${label}: set gateway app id "${value}"`;
    case "appImplementation":
      return `${label}: set the app implementation for new apps to ${value}`;
    case "info":
      return `${label}: set KMS info (k256 pubkey ${(value as { k256Pubkey: Hex }).k256Pubkey})`;
    case "allowAnyDevice":
      return `${label}: allow any device ${value}`;
    case "requireTcbUpToDate":
      return `${label}: require an up-to-date TCB ${value}`;
  }
}

function sentence(
  label: string,
  change: Change,
  call: { to: Address; sender: Address },
  labels: ReadonlyMap<Address, ContractLabel>,
  upgradeCall?: string,
): string {
  switch (change.kind) {
    case "set.add":
      return `${label}: authorize ${change.set.noun} ${change.item}`;
    case "set.remove":
      return `${label}: revoke ${change.set.noun} ${change.item}`;
    case "setting":
      return settingSentence(label, change.setting.property, change.value);
    case "upgrade":
      return `${label}: upgrade implementation to ${change.implementation}${change.data === "0x" ? "" : upgradeCall ? `, calling ${upgradeCall}` : ` and call it with ${change.data}`}`;
    case "owner.transfer":
      return change.newOwner === zeroAddress
        ? `${label}: cancel the pending ownership transfer (transfer to the zero address)`
        : `${label}: transfer ownership to ${change.newOwner}`;
    case "owner.accept":
      return `${label}: ${call.sender} accepts ownership`;
    case "safe.swap-owner":
      return `${label}: replace signer ${change.oldOwner} with ${change.newOwner}`;
    case "safe.add-owner":
      return `${label}: add signer ${change.owner}, threshold ${change.threshold}`;
    case "safe.remove-owner":
      return `${label}: remove signer ${change.owner}, threshold ${change.threshold}`;
    case "safe.threshold":
      return `${label}: set threshold to ${change.threshold}`;
    case "safe.enable-module":
      return `${label}: enable module ${change.module} (it can make the Safe run any call)`;
    case "safe.through-module":
      return getAddress(change.safe) === call.to
        ? `${sentence(label, change.inner, call, labels)}, as a module call from ${call.sender}`
        : `${label}: make ${change.safe} run a signer change as its module`;
    case "timelock.delay":
      return `${label}: set delay to ${formatDuration(change.delay)}`;
    case "timelock.expiration":
      return `${label}: set expiration window to ${formatDuration(change.expiration)}`;
    case "timelock.grant-role":
      return `${label}: grant ${ROLE_NAMES.get(change.roleId) ?? `role ${change.roleId}`} to ${roleHolder(change.account, call.to, labels)}`;
    case "timelock.revoke-role":
      return `${label}: revoke ${ROLE_NAMES.get(change.roleId) ?? `role ${change.roleId}`} of ${roleHolder(change.account, call.to, labels)}`;
    case "timelock.execute":
      return `${label}: execute a batch of ${change.operation.targets.length} call(s)`;
  }
}

/**
 * The readable text of a call, recomputed from what is signed: the target names the contract
 * (through the stack's config), the calldata names the function and its arguments. One function
 * writes a proposal's text and checks it on every read. `upgradeCall` is the signature of the
 * function upgradeToAndCall's data calls (from the config when written, from the file when read):
 * it is used only when it decodes that data exactly.
 */
export function describeCall(
  call: { to: Address; sender: Address; data: Hex },
  labels: ReadonlyMap<Address, ContractLabel>,
  upgradeCall?: string,
): CallText {
  const known = labels.get(getAddress(call.to));
  const label = known?.label ?? getAddress(call.to);
  const resource = known?.resource ?? "unknown";
  const abi: Abi = known?.abi ?? [...dstackKmsAbi, ...dstackAppAbi, ...ownable2StepAbi, ...safeAbi, ...timelockAbi];
  let decoded: { functionName: string; args?: readonly unknown[] };
  try {
    decoded = decodeFunctionData({ abi, data: call.data });
  } catch {
    const selector = call.data.length >= 10 ? slice(call.data, 0, 4) : call.data;
    return {
      resource,
      functionName: "unknown",
      signature: `unknown ${selector}`,
      args: [call.data],
      description: `${label}: UNKNOWN call with selector ${selector}`,
      revokes: false,
    };
  }
  const args = decoded.args ?? [];
  const change = decodeChange(decoded.functionName, args);
  const item = getAbiItem({ abi, name: decoded.functionName, args: args as never }) as AbiFunction;
  const inner = change?.kind === "upgrade" ? decodedUpgradeCall(upgradeCall, change.data) : undefined;
  return {
    resource,
    functionName: decoded.functionName,
    signature: toFunctionSignature(item),
    args: args.map(argText),
    description: change
      ? sentence(label, change, { to: getAddress(call.to), sender: getAddress(call.sender) }, labels, inner)
      : `${label}: ${decoded.functionName}(${args.map(argText).join(", ")})`,
    revokes: change ? revokes(change) : false,
    ...(inner ? { upgradeCall: toFunctionSignature(upgradeCallAbi(upgradeCall!)) } : {}),
  };
}
