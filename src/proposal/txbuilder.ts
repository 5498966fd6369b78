import {
  decodeFunctionData,
  encodeFunctionData,
  getAddress,
  keccak256,
  stringToHex,
  type AbiFunction,
  type AbiParameter,
  type Address,
  type Hex,
} from "viem";

// Safe{Wallet} Transaction Builder batch files, byte-compatible with the app's own exports.
// Behaviour reproduced from safe-global/safe-react-apps, apps/tx-builder:
//   src/lib/checksum.ts                      (serialization + checksum)
//   src/store/transactionLibraryContext.tsx  (generateBatchFile, convertToBatchTransactions)
//   src/components/forms/SolidityForm.tsx    (data is left empty when a contract method is used)
//   src/utils.ts                             (parseInputValue: how input values are read back)

/** The tx-builder release whose export format and checksum we match (checked against a real 1.18.2 export). */
export const TX_BUILDER_VERSION = "1.18.2";

export type TxBuilderContractInput = {
  internalType?: string;
  name: string;
  type: string;
  /** Tuple members; the app needs them to re-encode tuple inputs. */
  components?: TxBuilderContractInput[];
};

export type TxBuilderContractMethod = {
  inputs: TxBuilderContractInput[];
  name: string;
  payable: boolean;
};

export type TxBuilderTransaction = {
  to: Address;
  value: string;
  data: Hex | null;
  contractMethod: TxBuilderContractMethod | null;
  contractInputsValues: Record<string, string> | null;
};

export type TxBuilderBatch = {
  version: "1.0";
  chainId: string;
  createdAt: number;
  meta: {
    name: string;
    description: string;
    txBuilderVersion: string;
    createdFromSafeAddress: string;
    createdFromOwnerAddress: string;
    checksum?: Hex;
  };
  transactions: TxBuilderTransaction[];
};

/**
 * The app's canonical serialization that the checksum hashes. Not JSON: an object becomes
 * `{` + JSON of its sorted key list + each value followed by `,` + `}`, an array becomes
 * `[a,b]`, a scalar becomes its JSON text, and `undefined` counts as `null` (the app's
 * stringifyReplacer), so a key holding undefined hashes like one holding null.
 */
export function serializeForChecksum(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(serializeForChecksum).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    const members = keys.map((key) => `${serializeForChecksum(record[key])},`).join("");
    return `{${JSON.stringify(keys)}${members}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

/**
 * keccak256 of the canonical serialization, with the checksum key removed (as validateChecksum
 * does) and meta.name nulled (so renaming a saved batch in the app keeps it valid).
 */
export function txBuilderChecksum(batch: TxBuilderBatch): Hex {
  const { checksum: _existing, ...meta } = batch.meta;
  return keccak256(stringToHex(serializeForChecksum({ ...batch, meta: { ...meta, name: null } })));
}

export function withChecksum(batch: TxBuilderBatch): TxBuilderBatch {
  return { ...batch, meta: { ...batch.meta, checksum: txBuilderChecksum(batch) } };
}

export function isChecksumValid(batch: TxBuilderBatch): boolean {
  return batch.meta.checksum === txBuilderChecksum(batch);
}

/** A checksummed batch shaped like the app's generateBatchFile output, key order included. */
export function buildTxBuilderBatch(args: {
  chainId: number;
  safeAddress: Address;
  ownerAddress?: Address;
  createdAt: number;
  name: string;
  description: string;
  transactions: TxBuilderTransaction[];
}): TxBuilderBatch {
  return withChecksum({
    version: "1.0",
    chainId: String(args.chainId),
    createdAt: args.createdAt,
    meta: {
      name: args.name,
      description: args.description,
      txBuilderVersion: TX_BUILDER_VERSION,
      createdFromSafeAddress: getAddress(args.safeAddress),
      createdFromOwnerAddress: args.ownerAddress ? getAddress(args.ownerAddress) : "",
    },
    transactions: args.transactions,
  });
}

/**
 * One batch entry for a call. With its ABI function the entry is decoded the way the app's
 * form produces it: contractMethod + contractInputsValues and data null (when data is set the
 * app ignores contractMethod and shows "custom hex data"). `args` default to those decoded from
 * `data`.
 */
export function txBuilderTransactionFromCall(call: {
  to: Address;
  value: bigint;
  data: Hex;
  abiItem?: AbiFunction;
  args?: readonly unknown[];
}): TxBuilderTransaction {
  const to = getAddress(call.to);
  const value = call.value.toString();
  if (!call.abiItem) return { to, value, data: call.data, contractMethod: null, contractInputsValues: null };

  const args = call.args ?? decodedArgs(call.abiItem, call.data);
  assertEncodesTo(call.abiItem, args, call.data);
  return {
    to,
    value,
    data: null,
    contractMethod: contractMethodOf(call.abiItem),
    contractInputsValues: contractInputsValuesOf(call.abiItem.inputs, args),
  };
}

function decodedArgs(abiItem: AbiFunction, data: Hex): readonly unknown[] {
  return decodeFunctionData({ abi: [abiItem], data }).args ?? [];
}

// The app rebuilds calldata from contractMethod + contractInputsValues, so they must describe
// exactly the call that was planned.
function assertEncodesTo(abiItem: AbiFunction, args: readonly unknown[], data: Hex): void {
  const encoded = encodeFunctionData({ abi: [abiItem], functionName: abiItem.name, args });
  if (encoded.toLowerCase() !== data.toLowerCase()) {
    throw new Error(`txbuilder: ${abiItem.name}(${args.length} args) does not encode to the given calldata`);
  }
}

function contractMethodOf(abiItem: AbiFunction): TxBuilderContractMethod {
  return {
    inputs: abiItem.inputs.map(contractInputOf),
    name: abiItem.name,
    payable: abiItem.stateMutability === "payable",
  };
}

// Optional keys are left out rather than set to undefined: the checksum hashes undefined as
// null, but JSON.stringify drops it, so the checksum would not survive a write/read.
function contractInputOf(param: AbiParameter): TxBuilderContractInput {
  return {
    ...(param.internalType ? { internalType: param.internalType } : {}),
    name: param.name ?? "",
    type: param.type,
    ...("components" in param ? { components: param.components.map(contractInputOf) } : {}),
  };
}

// The app keys each value by input name, or by position for unnamed inputs.
function contractInputsValuesOf(inputs: readonly AbiParameter[], args: readonly unknown[]): Record<string, string> {
  return Object.fromEntries(
    inputs.map((input, index) => [input.name || String(index), inputValueText(input, args[index])]),
  );
}

/** The text the app's form holds for an input: scalars as plain text, arrays and tuples as JSON. */
function inputValueText(param: AbiParameter, value: unknown): string {
  const isComposite = arrayElementOf(param) !== undefined || param.type === "tuple";
  return isComposite ? JSON.stringify(jsonValueOf(param, value)) : scalarText(param.type, value);
}

// Inside JSON, tuples are positional arrays and bools real booleans: the app JSON.parses tuple
// text straight into the ABI coder, which would read the string "false" as true.
function jsonValueOf(param: AbiParameter, value: unknown): unknown {
  const element = arrayElementOf(param);
  if (element) return (value as readonly unknown[]).map((item) => jsonValueOf(element, item));
  if ("components" in param && param.type === "tuple") {
    return param.components.map((component, index) => jsonValueOf(component, tupleMember(value, component, index)));
  }
  if (param.type === "bool") return Boolean(value);
  return scalarText(param.type, value);
}

function arrayElementOf(param: AbiParameter): AbiParameter | undefined {
  const match = /^(.*)\[\d*\]$/.exec(param.type);
  return match ? ({ ...param, type: match[1] } as AbiParameter) : undefined;
}

// viem decodes a tuple with named members to an object, and one with unnamed members to an array.
function tupleMember(tuple: unknown, component: AbiParameter, index: number): unknown {
  return Array.isArray(tuple) ? tuple[index] : (tuple as Record<string, unknown>)[component.name ?? ""];
}

function scalarText(type: string, value: unknown): string {
  if (type === "address") return getAddress(value as string);
  if (/^u?int\d*$/.test(type)) return BigInt(value as bigint | number | string).toString(10);
  return String(value); // bool as "true"/"false", bytes as hex, string as is
}
