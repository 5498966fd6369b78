import { encodeAbiParameters, encodeFunctionData, encodePacked, keccak256, type Address, type Hex } from "viem";
import { timelockAbi } from "../chain/abis";

/** The salt ties the operation to this Safe nonce: a re-proposal of the same batch gets a fresh id. */
export function operationSalt(safe: Address, nonce: bigint): Hex {
  return keccak256(encodePacked(["string", "address", "uint256"], ["dstack-governance", safe, nonce]));
}

/** TimelockController.hashOperationBatch, computed locally: keccak256(abi.encode(targets, values, payloads, predecessor, salt)). */
export function hashOperationBatch(
  targets: readonly Address[],
  values: readonly bigint[],
  payloads: readonly Hex[],
  predecessor: Hex,
  salt: Hex,
): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "address[]" }, { type: "uint256[]" }, { type: "bytes[]" }, { type: "bytes32" }, { type: "bytes32" }],
      [targets, values, payloads, predecessor, salt],
    ),
  );
}

/** A batch as the timelock takes it; values as the file stores them (decimal strings) or as bigints. */
export interface OperationBatch {
  targets: readonly Address[];
  values: readonly (string | bigint)[];
  payloads: readonly Hex[];
  predecessor: Hex;
  salt: Hex;
}

/** executeBatch's arguments (scheduleBatch takes the delay after them). */
export const batchArgs = (op: OperationBatch) =>
  [op.targets, op.values.map(BigInt), op.payloads, op.predecessor, op.salt] as const;

// The one encoder of timelock operation calls: every schedule, execute and cancel is encoded here.
export function scheduleBatchData(op: OperationBatch & { delay: string | bigint }): Hex {
  return encodeFunctionData({
    abi: timelockAbi,
    functionName: "scheduleBatch",
    args: [...batchArgs(op), BigInt(op.delay)],
  });
}

export function executeBatchData(op: OperationBatch): Hex {
  return encodeFunctionData({ abi: timelockAbi, functionName: "executeBatch", args: batchArgs(op) });
}

export function cancelData(operationId: Hex): Hex {
  return encodeFunctionData({ abi: timelockAbi, functionName: "cancel", args: [operationId] });
}
