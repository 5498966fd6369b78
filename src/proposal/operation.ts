import { encodeAbiParameters, encodePacked, keccak256, type Address, type Hex } from "viem";

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
