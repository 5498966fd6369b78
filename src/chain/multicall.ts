import {
  decodeAbiParameters,
  encodeAbiParameters,
  toFunctionSelector,
  type AbiFunction,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { MULTICALL3_ADDRESS } from "./client";
import { readAt, type PinnedBlock } from "./pinned-read";
import { describeRevert } from "./revert";

export type ContractCall = {
  address: Address;
  abi: readonly unknown[];
  functionName: string;
  args?: readonly unknown[];
};
export type CallResult = { status: "success"; result: unknown } | { status: "failure"; error: Error };

/** A call's value, or an error naming what was read and why it failed. */
export function succeeded<T>(result: CallResult, what: string): T {
  if (result.status === "failure") throw new Error(`reading ${what} failed: ${result.error.message.split("\n")[0]}`);
  return result.result as T;
}

/** Multicall3's aggregate3((address target, bool allowFailure, bytes callData)[]). */
const AGGREGATE3 = toFunctionSelector("aggregate3((address,bool,bytes)[])");

const WORD = 64;
const word = (n: number) => n.toString(16).padStart(WORD, "0");

/**
 * aggregate3's calldata with every call allowed to fail, written out directly: the layout is fixed
 * (head of offsets, then per call its target, the flag, an offset and the padded bytes), and
 * viem's generic encoder spends ~10 ms on a batch of 1,000.
 */
export function encodeAggregate3(calls: readonly { target: Address; callData: Hex }[]): Hex {
  const offsets: string[] = [];
  const tuples: string[] = [];
  let offset = calls.length * 32;
  for (const { target, callData } of calls) {
    const bytes = callData.slice(2);
    const padded = bytes.padEnd(Math.ceil(bytes.length / WORD) * WORD, "0");
    offsets.push(word(offset));
    tuples.push(
      `${target.slice(2).toLowerCase().padStart(WORD, "0")}${word(1)}${word(0x60)}${word(bytes.length / 2)}${padded}`,
    );
    offset += 32 * 4 + padded.length / 2;
  }
  return `${AGGREGATE3}${word(0x20)}${word(calls.length)}${offsets.join("")}${tuples.join("")}`;
}

/** aggregate3's answer is not the shape Multicall3 returns: the RPC or the contract at its address is wrong. */
export class MalformedMulticallError extends Error {
  constructor(reason: string) {
    super(`Multicall3 at ${MULTICALL3_ADDRESS} returned a malformed answer (${reason})`);
    this.name = "MalformedMulticallError";
  }
}

/** aggregate3's (bool success, bytes returnData)[], read by following every offset, each checked against the data's bounds. */
export function decodeAggregate3(data: Hex, expected: number): { success: boolean; returnData: Hex }[] {
  const size = (data.length - 2) / 2;
  const at = (byte: number): number => {
    if (byte + 32 > size) throw new MalformedMulticallError(`reads past its ${size} bytes`);
    const hex = data.slice(2 + byte * 2, 2 + byte * 2 + WORD);
    // Offsets and lengths beyond 2^48 bytes cannot fit in any answer: only the low words are read.
    if (!/^0{52}/.test(hex)) throw new MalformedMulticallError(`word at byte ${byte} is too large`);
    return Number.parseInt(hex.slice(52), 16);
  };
  const array = at(0);
  const count = at(array);
  if (count !== expected) throw new MalformedMulticallError(`${count} results for ${expected} calls`);
  const base = array + 32;
  const results: { success: boolean; returnData: Hex }[] = [];
  for (let i = 0; i < count; i++) {
    const tuple = base + at(base + i * 32);
    const success = at(tuple);
    if (success > 1) throw new MalformedMulticallError(`success flag ${success}`);
    const bytes = tuple + at(tuple + 32);
    const length = at(bytes);
    if (bytes + 32 + length > size) throw new MalformedMulticallError(`result ${i} reads past the end`);
    results.push({
      success: success === 1,
      returnData: `0x${data.slice(2 + (bytes + 32) * 2, 2 + (bytes + 32 + length) * 2)}`,
    });
  }
  return results;
}

interface PreparedFunction {
  selector: Hex;
  item: AbiFunction;
}

/** Selector and ABI item per function, found once per ABI: looking them up per call costs a keccak each. */
const prepared = new WeakMap<readonly unknown[], Map<string, PreparedFunction>>();

function prepare(call: ContractCall): PreparedFunction {
  const byName = prepared.get(call.abi) ?? new Map<string, PreparedFunction>();
  prepared.set(call.abi, byName);
  const known = byName.get(call.functionName);
  if (known) return known;
  const candidates = (call.abi as AbiFunction[]).filter(
    (item) =>
      item.type === "function" && item.name === call.functionName && item.inputs.length === (call.args?.length ?? 0),
  );
  if (candidates.length !== 1)
    throw new Error(
      `internal: ${candidates.length} ABI functions named ${call.functionName}/${call.args?.length ?? 0}`,
    );
  const fresh = { selector: toFunctionSelector(candidates[0]), item: candidates[0] };
  byName.set(call.functionName, fresh);
  return fresh;
}

function encodeCall(call: ContractCall): Hex {
  const { selector, item } = prepare(call);
  return item.inputs.length
    ? `${selector}${encodeAbiParameters(item.inputs, call.args as unknown[]).slice(2)}`
    : selector;
}

/** One call's outcome: its decoded value (a single output alone, several as an array), or why it failed. */
function decodeCall(call: ContractCall, outcome: { success: boolean; returnData: Hex }): CallResult {
  const what = `${call.functionName}() on ${call.address}`;
  if (!outcome.success)
    return {
      status: "failure",
      error: new Error(`${what} reverted: ${describeRevert(outcome.returnData, "no reason")}`),
    };
  const { item } = prepare(call);
  try {
    const values = decodeAbiParameters(item.outputs, outcome.returnData);
    return { status: "success", result: item.outputs.length === 1 ? values[0] : values };
  } catch {
    // An account without this function answers nothing, or something that is not its outputs.
    return { status: "failure", error: new Error(`${what} returned ${outcome.returnData}, not its outputs`) };
  }
}

/**
 * Calls per eth_call, in Multicall3 batches and the membership reader alike: 1,000 getters (one
 * storage read each) stay a few million gas, far below the 50M an RPC gives an eth_call by default
 * (geth's RPCGasCap).
 */
export const CALLS_PER_MULTICALL = 1_000;

/**
 * Runs many view calls through Multicall3 at one block, in parallel batches of
 * CALLS_PER_MULTICALL. A call that reverts is a failure result, never a thrown error.
 */
export async function multicallAt(
  client: PublicClient,
  block: PinnedBlock,
  calls: ContractCall[],
): Promise<CallResult[]> {
  const batches: ContractCall[][] = [];
  for (let i = 0; i < calls.length; i += CALLS_PER_MULTICALL) batches.push(calls.slice(i, i + CALLS_PER_MULTICALL));
  const results = await Promise.all(
    batches.map(async (batch) => {
      const data = encodeAggregate3(batch.map((call) => ({ target: call.address, callData: encodeCall(call) })));
      const answer = await readAt(client, block, "eth_call", [{ to: MULTICALL3_ADDRESS, data }]);
      return decodeAggregate3(answer, batch.length).map((outcome, i) => decodeCall(batch[i], outcome));
    }),
  );
  return results.flat();
}
