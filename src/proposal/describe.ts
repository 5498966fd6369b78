import {
  decodeFunctionData,
  getAbiItem,
  getAddress,
  slice,
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
}

const SET_NOUNS: Record<string, [string, boolean]> = {
  addOsImageHash: ["OS image", false],
  removeOsImageHash: ["OS image", true],
  addKmsAggregatedMr: ["KMS aggregated MR", false],
  removeKmsAggregatedMr: ["KMS aggregated MR", true],
  addKmsDevice: ["KMS device", false],
  removeKmsDevice: ["KMS device", true],
  addComposeHash: ["compose hash", false],
  removeComposeHash: ["compose hash", true],
  addDevice: ["device", false],
  removeDevice: ["device", true],
};

const ROLE_NAMES = new Map<string, string>(
  Object.entries(TIMELOCK_ROLES).map(([name, id]) => [id, `${name.toUpperCase()}_ROLE`]),
);

function argText(value: unknown): string {
  return typeof value === "object" && value !== null
    ? JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v))
    : String(value);
}

function sentence(label: string, functionName: string, args: readonly unknown[], sender: Address): string {
  const [a, b, c] = args as [unknown, unknown, unknown];
  const set = SET_NOUNS[functionName];
  if (set) return `${label}: ${set[1] ? "revoke" : "authorize"} ${set[0]} ${a}`;
  switch (functionName) {
    case "upgradeToAndCall":
      return `${label}: upgrade implementation to ${a}${b === "0x" ? "" : ` and call it with ${b}`}`;
    case "transferOwnership":
      return a === zeroAddress
        ? `${label}: cancel the pending ownership transfer (transfer to the zero address)`
        : `${label}: transfer ownership to ${a}`;
    case "acceptOwnership":
      return `${label}: ${sender} accepts ownership`;
    case "setGatewayAppId":
      return `${label}: set gateway app id "${a}"`;
    case "setAppImplementation":
      return `${label}: set the app implementation for new apps to ${a}`;
    case "setKmsInfo":
      return `${label}: set KMS info (k256 pubkey ${(a as { k256Pubkey: Hex }).k256Pubkey})`;
    case "setAllowAnyDevice":
      return `${label}: allow any device ${a}`;
    case "setRequireTcbUpToDate":
      return `${label}: require an up-to-date TCB ${a}`;
    case "swapOwner":
      return `${label}: replace signer ${b} with ${c}`;
    case "addOwnerWithThreshold":
      return `${label}: add signer ${a}, threshold ${b}`;
    case "removeOwner":
      return `${label}: remove signer ${b}, threshold ${c}`;
    case "changeThreshold":
      return `${label}: set threshold to ${a}`;
    case "enableModule":
      return `${label}: enable module ${a} (it can make the Safe run any call)`;
    case "updateDelay":
      return `${label}: set delay to ${formatDuration(a as bigint)}`;
    case "updateExpiration":
      return `${label}: set expiration window to ${formatDuration(a as bigint)}`;
    case "grantRole":
    case "revokeRole":
      return `${label}: ${functionName === "grantRole" ? "grant" : "revoke"} ${ROLE_NAMES.get(a as string) ?? a} ${functionName === "grantRole" ? "to" : "from"} ${b}`;
    default:
      return `${label}: ${functionName}(${args.map(argText).join(", ")})`;
  }
}

/** Calls that only take authorization away (a tighter set, one signer fewer): emergencies when alone. */
function revokes(functionName: string, args: readonly unknown[]): boolean {
  if (SET_NOUNS[functionName]) return SET_NOUNS[functionName][1];
  if (functionName === "setAllowAnyDevice") return args[0] === false;
  if (functionName === "setRequireTcbUpToDate") return args[0] === true;
  return functionName === "removeOwner" || (functionName === "transferOwnership" && args[0] === zeroAddress);
}

/** A module making the Safe call itself (a signer change through the timelock): the inner Safe call, decoded. */
function moduleSelfCall(
  call: { to: Address },
  functionName: string,
  args: readonly unknown[],
): { functionName: string; args: readonly unknown[] } | undefined {
  if (functionName !== "execTransactionFromModule" || getAddress(args[0] as Address) !== getAddress(call.to))
    return undefined;
  if (args[1] !== 0n || args[3] !== 0) return undefined;
  try {
    const inner = decodeFunctionData({ abi: safeAbi, data: args[2] as Hex });
    return { functionName: inner.functionName, args: inner.args ?? [] };
  } catch {
    return undefined;
  }
}

/**
 * The readable text of a call, recomputed from what is signed: the target names the contract
 * (through the stack's config), the calldata names the function and its arguments. One function
 * writes a proposal's text and checks it on every read.
 */
export function describeCall(
  call: { to: Address; sender: Address; data: Hex },
  labels: ReadonlyMap<Address, ContractLabel>,
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
  const item = getAbiItem({ abi, name: decoded.functionName, args: args as never }) as AbiFunction;
  const inner = moduleSelfCall(call, decoded.functionName, args);
  return {
    resource,
    functionName: decoded.functionName,
    signature: toFunctionSignature(item),
    args: args.map(argText),
    description: inner
      ? `${sentence(label, inner.functionName, inner.args, getAddress(call.sender))}, as a module call from ${getAddress(call.sender)}`
      : sentence(label, decoded.functionName, args, getAddress(call.sender)),
    revokes: inner ? revokes(inner.functionName, inner.args) : revokes(decoded.functionName, args),
  };
}
