import { decodeAbiParameters, encodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import { safeAbi, simulateTxAccessorAbi } from "../chain/abis";
import { describeRevert, revertDataOf } from "../chain/revert";
import { canonicalSafeContractsByVersion, type SafeVersion } from "../chain/safe-deployments";
import type { PlannedCall } from "../plan/types";
import { GovernanceError } from "../errors";
import type { SafeTxData } from "./types";

export class SimulationError extends GovernanceError {
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super("simulation", `simulation failed: ${what} reverts: ${reason}`);
    this.name = "SimulationError";
  }
}

/** eth_calls one planned call from its sender at the pinned block; throws with the decoded revert reason. */
export async function simulateCall(client: PublicClient, call: PlannedCall, blockNumber: bigint): Promise<void> {
  try {
    await client.call({ account: call.sender, to: call.to, data: call.data, value: call.value, blockNumber });
  } catch (error) {
    throw new SimulationError(
      call.description,
      describeRevert(revertDataOf(error), (error as Error).message.split("\n")[0]),
    );
  }
}

/**
 * Runs a whole Safe transaction in the Safe's own context without signatures, through Safe
 * 1.3.0/1.4.1 simulateAndRevert + that version's SimulateTxAccessor, so batched steps see each other's effects.
 */
export async function simulateSafeTransaction(
  client: PublicClient,
  safe: Address,
  tx: SafeTxData,
  blockNumber: bigint,
  version: SafeVersion,
): Promise<void> {
  const payload = encodeFunctionData({
    abi: simulateTxAccessorAbi,
    functionName: "simulate",
    args: [tx.to, BigInt(tx.value), tx.data, tx.operation],
  });
  let revertData: Hex | undefined;
  try {
    await client.call({
      to: safe,
      data: encodeFunctionData({
        abi: safeAbi,
        functionName: "simulateAndRevert",
        args: [canonicalSafeContractsByVersion[version].simulateTxAccessor, payload],
      }),
      blockNumber,
    });
  } catch (error) {
    revertData = revertDataOf(error);
  }
  if (!revertData) throw new SimulationError("the Safe transaction", "simulateAndRevert returned no result");
  // simulateAndRevert reverts with: bool success, uint256 length, then simulate()'s return data.
  const [success] = decodeAbiParameters([{ type: "bool" }], revertData.slice(0, 66) as Hex);
  const returned = `0x${revertData.slice(130)}` as Hex;
  if (!success)
    throw new SimulationError("the Safe transaction", describeRevert(returned, "SimulateTxAccessor call failed"));
  const [, innerSuccess, innerData] = decodeAbiParameters(
    [{ type: "uint256" }, { type: "bool" }, { type: "bytes" }],
    returned,
  );
  if (!innerSuccess)
    throw new SimulationError("the Safe transaction", describeRevert(innerData, "a call in the batch failed"));
}
