import {
  encodeFunctionData,
  getAddress,
  multicall3Abi,
  toHex,
  zeroAddress,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { MULTICALL3_ADDRESS } from "../chain/client";
import { APP_FLAGS_SLOT, IMPLEMENTATION_SLOT, scalarReadCalls, type LiveState } from "../chain/read-state";
import type { StackConfig } from "../config/schema";
import { encodeApproveHash } from "../proposal/safe-tx";
import type { ProposalFile, TimelockOperation } from "../proposal/types";

/**
 * What the convergence proof's fork will load from the chain, guessed ahead so the relay can
 * fetch it in a few requests (see startRpcRelay's prefetch). A guess only saves requests: what
 * it misses the fork still loads one read at a time, what it adds costs a few bytes.
 */

/** One call as the fork runs it: its access list, asked of the chain before the fork starts, names what it reads. */
export interface ForkCall {
  from: Address;
  to: Address;
  data: Hex;
  value?: bigint;
}

export interface AccessListEntry {
  address: Address;
  storageKeys: readonly Hex[];
}

/**
 * The calls whose state the fork needs and which run on the chain as it is: each owner's
 * approveHash, the Safe transaction's own call (its execTransaction would fail on the chain:
 * not approved there), and each governed call from its executor (the timelock's execute would
 * fail too: not scheduled there).
 */
export function forkCalls(
  live: LiveState,
  proposal: ProposalFile,
  approvers: readonly Address[],
  queued: readonly TimelockOperation[],
): ForkCall[] {
  const safe = live.safe!.address;
  return [
    ...approvers.map((from) => ({ from, to: safe, data: encodeApproveHash(proposal.safeTxHash) })),
    ...(proposal.safeTx.operation === 0
      ? [{ from: safe, to: proposal.safeTx.to, data: proposal.safeTx.data, value: BigInt(proposal.safeTx.value) }]
      : []),
    ...proposal.calls.map((call) => ({ from: call.sender, to: call.to, data: call.data })),
    ...queued.flatMap((op) =>
      op.targets.map((to, i) => ({ from: op.address, to, data: op.payloads[i], value: BigInt(op.values[i] ?? 0) })),
    ),
  ];
}

/** The re-read's multicall of every setting's getter: the fork runs it after the proposal. */
export function scalarReadCall(config: StackConfig): ForkCall {
  const calls = scalarReadCalls(config).map((call) => ({
    target: call.address,
    allowFailure: true,
    callData: encodeFunctionData({ abi: call.abi as Abi, functionName: call.functionName, args: call.args }),
  }));
  return {
    from: zeroAddress,
    to: MULTICALL3_ADDRESS,
    data: encodeFunctionData({ abi: multicall3Abi, functionName: "aggregate3", args: [calls] }),
  };
}

/** EIP-2935 (Prague): each block the fork mines stores its parent's hash in this contract, at slot (number - 1) % 8191. */
const HISTORY_STORAGE = "0x0000F90827F1C53a10cb7A02335B175320002935" as const;
const HISTORY_SERVE_WINDOW = 8191n;

/** The history contract's slots written by `blocks` blocks mined on a fork of `blockNumber`. */
export function historySlots(blockNumber: bigint, blocks: number): Map<Address, Hex[]> {
  const slots = Array.from({ length: blocks }, (_, i) => toHex((blockNumber + BigInt(i)) % HISTORY_SERVE_WINDOW));
  return new Map([[HISTORY_STORAGE, slots]]);
}

/** Accounts and slots every proof reads whatever the proposal: the governed contracts and the slots read-state reads directly. */
export function stackAccounts(live: LiveState, executor: Address | undefined): Map<Address, Hex[]> {
  const accounts = new Map<Address, Hex[]>();
  const add = (address: Address | undefined, ...slots: Hex[]) => {
    if (!address) return;
    const key = getAddress(address);
    accounts.set(key, [...(accounts.get(key) ?? []), ...slots]);
  };
  add(live.kms.proxy, IMPLEMENTATION_SLOT);
  add(live.kms.implementation);
  for (const app of live.apps) {
    add(app.proxy, IMPLEMENTATION_SLOT, APP_FLAGS_SLOT);
    add(app.implementation);
  }
  add(live.safe?.address);
  add(live.timelock?.address);
  add(executor);
  // The re-read batches its getters through Multicall3.
  add(MULTICALL3_ADDRESS);
  return accounts;
}

/** Everything to load: the stack's accounts, each call's sender and target, and every entry of their access lists. */
export function accountsToLoad(
  base: ReadonlyMap<Address, readonly Hex[]>,
  calls: readonly ForkCall[],
  accessLists: readonly (readonly AccessListEntry[])[],
): Map<Address, Hex[]> {
  const accounts = new Map<Address, Set<Hex>>();
  const add = (address: Address, slots: readonly Hex[]) => {
    const key = getAddress(address);
    const set = accounts.get(key) ?? new Set<Hex>();
    for (const slot of slots) set.add(slot.toLowerCase() as Hex);
    accounts.set(key, set);
  };
  for (const [address, slots] of base) add(address, slots);
  for (const call of calls) {
    add(call.from, []);
    add(call.to, []);
  }
  for (const list of accessLists) for (const entry of list) add(entry.address, entry.storageKeys);
  return new Map([...accounts].map(([address, slots]) => [address, [...slots]]));
}

/**
 * Each call's access list at the block (eth_createAccessList, which geth, reth and anvil
 * serve). A call the chain refuses, or an RPC without the method, contributes nothing.
 */
export async function accessListsAt(
  client: PublicClient,
  blockNumber: bigint,
  calls: readonly ForkCall[],
): Promise<AccessListEntry[][]> {
  return Promise.all(
    calls.map(async (call) => {
      try {
        const { accessList } = (await client.request({
          method: "eth_createAccessList",
          params: [
            {
              from: call.from,
              to: call.to,
              data: call.data,
              ...(call.value ? { value: toHex(call.value) } : {}),
              // The senders (Safe, timelock) hold no ETH: without a zero price geth charges its default fees and refuses.
              gasPrice: "0x0",
            },
            toHex(blockNumber),
          ],
        } as never)) as { accessList?: AccessListEntry[] };
        return accessList ?? [];
      } catch {
        return [];
      }
    }),
  );
}
