import Safe from "@safe-global/protocol-kit";
import { OperationType, type MetaTransactionData, type SafeTransaction } from "@safe-global/types-kit";
import {
  encodeFunctionData,
  getAddress,
  hashDomain,
  hashStruct,
  hashTypedData,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { safeAbi } from "../chain/abis";
import { safeContractNetworks, type SafeVersion } from "../chain/safe-deployments";
import type { FileSignature, SafeTxData } from "./types";

const SAFE_TX_TYPES = {
  EIP712Domain: [
    { name: "chainId", type: "uint256" },
    { name: "verifyingContract", type: "address" },
  ],
  SafeTx: [
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "data", type: "bytes" },
    { name: "operation", type: "uint8" },
    { name: "safeTxGas", type: "uint256" },
    { name: "baseGas", type: "uint256" },
    { name: "gasPrice", type: "uint256" },
    { name: "gasToken", type: "address" },
    { name: "refundReceiver", type: "address" },
    { name: "nonce", type: "uint256" },
  ],
} as const;

function typedMessage(tx: SafeTxData) {
  return {
    to: tx.to,
    value: BigInt(tx.value),
    data: tx.data,
    operation: tx.operation,
    safeTxGas: BigInt(tx.safeTxGas),
    baseGas: BigInt(tx.baseGas),
    gasPrice: BigInt(tx.gasPrice),
    gasToken: tx.gasToken,
    refundReceiver: tx.refundReceiver,
    nonce: BigInt(tx.nonce),
  };
}

/** The EIP-712 hashes a hardware wallet shows for a Safe 1.3.0 or 1.4.1 transaction (same domain and SafeTx type), computed independently of protocol-kit. */
export function safeTxHashes(chainId: number, safe: Address, tx: SafeTxData) {
  const domain = { chainId: BigInt(chainId), verifyingContract: safe };
  const message = typedMessage(tx);
  return {
    domainHash: hashDomain({ domain, types: SAFE_TX_TYPES }),
    messageHash: hashStruct({ data: message, primaryType: "SafeTx", types: SAFE_TX_TYPES }),
    safeTxHash: hashTypedData({ domain, types: SAFE_TX_TYPES, primaryType: "SafeTx", message }),
  };
}

/**
 * The EIP-712 typed data of the Safe transaction, as eth_signTypedData_v4, `cast wallet sign
 * --data` and hardware wallets take it; integers as decimal strings.
 */
export function safeTxTypedData(chainId: number, safe: Address, tx: SafeTxData) {
  const { to, value, data, operation, safeTxGas, baseGas, gasPrice, gasToken, refundReceiver, nonce } = tx;
  return {
    types: SAFE_TX_TYPES,
    primaryType: "SafeTx" as const,
    domain: { chainId, verifyingContract: safe },
    message: { to, value, data, operation, safeTxGas, baseGas, gasPrice, gasToken, refundReceiver, nonce },
  };
}

/** Calldata of the Safe's execTransaction for a signed Safe transaction and its packed signatures. */
/** An owner's on-chain approval of a Safe transaction hash (Safe.approveHash). */
export function encodeApproveHash(safeTxHash: Hex): Hex {
  return encodeFunctionData({ abi: safeAbi, functionName: "approveHash", args: [safeTxHash] });
}

export function encodeExecTransaction(t: SafeTxData, signatures: Hex): Hex {
  return encodeFunctionData({
    abi: safeAbi,
    functionName: "execTransaction",
    args: [
      t.to,
      BigInt(t.value),
      t.data,
      t.operation,
      BigInt(t.safeTxGas),
      BigInt(t.baseGas),
      BigInt(t.gasPrice),
      t.gasToken,
      t.refundReceiver,
      signatures,
    ],
  });
}

export interface SafeCall {
  to: Address;
  value: bigint;
  data: Hex;
}

/** protocol-kit reads through our client (EIP-1193), so it gets the same retries, fallback URLs and timeout. */
export async function initProtocolKit(
  client: PublicClient,
  chainId: number,
  safe: Address,
  version: SafeVersion,
  signerKey?: Hex,
) {
  const provider = { request: (args: { method: string; params?: unknown }) => client.request(args as never) };
  // The address table of the Safe's own version (read from the Safe), so MultiSend and friends match it.
  return Safe.init({
    provider,
    signer: signerKey,
    safeAddress: safe,
    contractNetworks: safeContractNetworks(chainId, version),
  });
}

function toSafeTxData(tx: SafeTransaction): SafeTxData {
  const d = tx.data;
  return {
    to: getAddress(d.to),
    value: String(d.value),
    data: d.data as Hex,
    operation: d.operation === OperationType.DelegateCall ? 1 : 0,
    safeTxGas: String(d.safeTxGas),
    baseGas: String(d.baseGas),
    gasPrice: String(d.gasPrice),
    gasToken: getAddress(d.gasToken),
    refundReceiver: getAddress(d.refundReceiver),
    nonce: String(d.nonce),
  };
}

/**
 * One Safe transaction for the calls (a single call goes out directly; several are batched
 * through MultiSendCallOnly), hashed by protocol-kit and cross-checked against our own EIP-712
 * hash. With a signer key, protocol-kit adds that owner's EIP-712 signature.
 */
export async function createSafeTransaction(args: {
  client: PublicClient;
  chainId: number;
  safe: Address;
  version: SafeVersion;
  nonce: bigint;
  calls: SafeCall[];
  signerKey?: Hex;
}): Promise<{ safeTx: SafeTxData; safeTxHash: Hex; domainHash: Hex; messageHash: Hex; signatures: FileSignature[] }> {
  const kit = await initProtocolKit(args.client, args.chainId, args.safe, args.version, args.signerKey);
  const transactions: MetaTransactionData[] = args.calls.map((c) => ({
    to: c.to,
    value: c.value.toString(),
    data: c.data,
    operation: OperationType.Call,
  }));
  let tx = await kit.createTransaction({ transactions, onlyCalls: true, options: { nonce: Number(args.nonce) } });
  const kitHash = (await kit.getTransactionHash(tx)) as Hex;
  const safeTx = toSafeTxData(tx);
  const hashes = safeTxHashes(args.chainId, args.safe, safeTx);
  if (hashes.safeTxHash !== kitHash)
    throw new Error(`Safe tx hash mismatch: protocol-kit ${kitHash}, EIP-712 ${hashes.safeTxHash}`);
  const signatures: FileSignature[] = [];
  if (args.signerKey) {
    tx = await kit.signTransaction(tx, "eth_signTypedData_v4");
    for (const signature of tx.signatures.values())
      signatures.push({ signer: getAddress(signature.signer), data: signature.data as Hex });
  }
  return { safeTx, ...hashes, signatures };
}
