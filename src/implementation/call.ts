import {
  decodeFunctionData,
  encodeFunctionData,
  parseAbiItem,
  type AbiFunction,
  type AbiParameter,
  type Hex,
} from "viem";

/** The call `upgradeToAndCall` makes in the proxy after switching code, e.g. a reinitializer. */
export interface UpgradeCall {
  /** A full signature, e.g. "initializeV2(string)". */
  function: string;
  args: unknown[];
}

export function upgradeCallAbi(signature: string): AbiFunction {
  const item = parseAbiItem(`function ${signature.replace(/^function\s+/, "")}`);
  if (item.type !== "function") throw new Error(`${signature} is not a function signature`);
  return item;
}

/** JSON has no bigint: integers come as numbers or decimal strings. */
function coerce(param: AbiParameter, value: unknown): unknown {
  if (param.type.endsWith("]") && Array.isArray(value)) {
    const inner = { ...param, type: param.type.slice(0, param.type.lastIndexOf("[")) };
    return value.map((v) => coerce(inner, v));
  }
  if (param.type === "tuple" && "components" in param && value && typeof value === "object") {
    return Array.isArray(value)
      ? param.components.map((c, i) => coerce(c, value[i]))
      : Object.fromEntries(
          param.components.map((c) => [c.name, coerce(c, (value as Record<string, unknown>)[c.name!])]),
        );
  }
  if (/^u?int\d*$/.test(param.type) && (typeof value === "number" || typeof value === "string")) return BigInt(value);
  return value;
}

/** Calldata for the call; throws with viem's reason when the arguments do not fit the signature. */
export function encodeUpgradeCall(call: UpgradeCall): Hex {
  const abi = upgradeCallAbi(call.function);
  if (call.args.length !== abi.inputs.length)
    throw new Error(`${call.function} takes ${abi.inputs.length} argument(s), ${call.args.length} given`);
  return encodeFunctionData({ abi: [abi], args: abi.inputs.map((input, i) => coerce(input, call.args[i])) } as never);
}

/** The call as a reviewer reads it, decoded back from the calldata: initializeV2("v2"). */
export function describeUpgradeCall(signature: string, data: Hex): string {
  const abi = upgradeCallAbi(signature);
  const { args } = decodeFunctionData({ abi: [abi], data });
  const text = (args ?? [])
    .map((a) => JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? v.toString() : v)))
    .join(", ");
  return `${abi.name}(${text})`;
}
