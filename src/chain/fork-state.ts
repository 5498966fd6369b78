import { getAddress, type Address, type Hex } from "viem";

/**
 * The state a fork loads from its upstream, held at the ONE block it forks from. State at a
 * block number never changes, so every answer can be kept and given again. Filled from
 * eth_getProof (balance, nonce and many storage words of one account in one request) and
 * eth_getCode; the fork's one-at-a-time reads are answered from it.
 */

/** keccak256 of empty code: an account without code (geth's eth_getProof also says 0x0…0 for a missing one). */
const EMPTY_CODE_HASH = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";
const ZERO_HASH = `0x${"0".repeat(64)}`;

export interface JsonRpcCall {
  id: unknown;
  method: string;
  params?: unknown[];
}

/** The parts of an eth_getProof answer the fork needs (the Merkle nodes are not checked: the RPC is trusted as for any read). */
export interface AccountProof {
  address: Hex;
  balance: Hex;
  nonce: Hex;
  codeHash: Hex;
  storageProof: readonly { key: Hex; value: Hex }[];
}

interface Account {
  balance: bigint;
  nonce: bigint;
  code: Hex;
}

/** A storage slot as eth_getProof wants it and as every key is compared: 32 bytes, lower case. */
export function slotWord(slot: Hex | string): Hex {
  return `0x${BigInt(slot).toString(16).padStart(64, "0")}`;
}

const quantity = (value: bigint): Hex => `0x${value.toString(16)}`;
const accountKey = (address: string) => address.toLowerCase();
const storageKey = (address: string, slot: string) => `${accountKey(address)}:${slotWord(slot)}`;

/** Whether an eth_getProof answer says the account has code worth an eth_getCode. */
export function hasCode(proof: AccountProof): boolean {
  const hash = proof.codeHash.toLowerCase();
  return hash !== EMPTY_CODE_HASH && hash !== ZERO_HASH;
}

/** What a fork asks of the state at a block, or undefined for anything else (blocks, receipts, chain id...). */
export function stateRead(call: JsonRpcCall): { address: Address; slot?: Hex; block: unknown } | undefined {
  const p = call.params ?? [];
  switch (call.method) {
    case "eth_getBalance":
    case "eth_getTransactionCount":
    case "eth_getCode":
    case "eth_getAccountInfo":
      return typeof p[0] === "string" ? { address: getAddress(p[0]), block: p[1] } : undefined;
    case "eth_getStorageAt":
      return typeof p[0] === "string" && typeof p[1] === "string"
        ? { address: getAddress(p[0]), slot: slotWord(p[1]), block: p[2] }
        : undefined;
    default:
      return undefined;
  }
}

/** A block parameter naming exactly `blockNumber` (a tag such as "latest" may move: never served from here). */
function isBlock(block: unknown, blockNumber: bigint): boolean {
  if (typeof block !== "string" || !block.startsWith("0x")) return false;
  try {
    return BigInt(block) === blockNumber;
  } catch {
    return false;
  }
}

export class ForkState {
  private readonly accounts = new Map<string, Account>();
  private readonly storage = new Map<string, Hex>();

  constructor(readonly blockNumber: bigint) {}

  /** Keeps an account and the storage words its proof carries; `code` is "0x" when the proof says there is none. */
  addProof(proof: AccountProof, code: Hex): void {
    this.accounts.set(accountKey(proof.address), {
      balance: BigInt(proof.balance),
      nonce: BigInt(proof.nonce),
      code,
    });
    // Clients write the value as a quantity ("0x0", "0x1f"); eth_getStorageAt answers 32 bytes.
    for (const { key, value } of proof.storageProof) this.storage.set(storageKey(proof.address, key), slotWord(value));
  }

  addStorage(address: Address, slot: Hex, value: Hex): void {
    this.storage.set(storageKey(address, slot), slotWord(value));
  }

  hasAccount(address: Address): boolean {
    return this.accounts.has(accountKey(address));
  }

  hasStorage(address: Address, slot: Hex): boolean {
    return this.storage.has(storageKey(address, slot));
  }

  /** A read of the state at this block (which this cache may answer), else undefined. */
  pinnedRead(call: JsonRpcCall): { address: Address; slot?: Hex } | undefined {
    const read = stateRead(call);
    return read && isBlock(read.block, this.blockNumber) ? read : undefined;
  }

  /** The answer to a state read at the fork block that is held here, else undefined (ask upstream). */
  answer(call: JsonRpcCall): { result: unknown } | undefined {
    const read = this.pinnedRead(call);
    if (!read) return undefined;
    if (read.slot !== undefined) {
      const word = this.storage.get(storageKey(read.address, read.slot));
      return word === undefined ? undefined : { result: word };
    }
    const account = this.accounts.get(accountKey(read.address));
    if (!account) return undefined;
    switch (call.method) {
      case "eth_getBalance":
        return { result: quantity(account.balance) };
      case "eth_getTransactionCount":
        return { result: quantity(account.nonce) };
      case "eth_getCode":
        return { result: account.code };
      default:
        // anvil's own eth_getAccountInfo, which it asks first and which most RPCs lack.
        return { result: { balance: quantity(account.balance), nonce: quantity(account.nonce), code: account.code } };
    }
  }
}
