import type { WalletClient } from "viem";
import { safeAbi } from "../../src/chain/abis";
import { executeSafeTransaction, executeTimelockBatch } from "../../src/proposal/execute";
import { describeStatus, proposalStatus } from "../../src/proposal/status";
import type { ProposalFile } from "../../src/proposal/types";
import { verifyProposalFile } from "../../src/proposal/verify";
import type { Stack } from "../../src/reconcile/stack";
import { readLiveState } from "../../src/chain/read-state";
import { describeExecutionProposal, executorRoute, proposeExecutionThroughSafe } from "../../src/reconcile/execution";
import { isoTime } from "../output";
import { assertSameChain } from "../stack";

/**
 * Takes the proposal one step further, whichever step is due: the Safe transaction once enough
 * owners signed, or the timelock batch once it is ready. Anything else says what it waits for.
 */
export async function executeProposalStep(stack: Stack, wallet: WalletClient, proposal: ProposalFile): Promise<string> {
  assertSameChain(stack, proposal);
  const { client } = stack;
  await verifyProposalFile(client, stack.config, proposal, stack.scans);
  const status = await proposalStatus(client, proposal);
  switch (status.state) {
    case "awaiting-signatures": {
      const safeNonce = await client.readContract({
        address: proposal.safe.address,
        abi: safeAbi,
        functionName: "nonce",
      });
      if (BigInt(proposal.safe.nonce) > safeNonce) {
        throw new Error(
          `proposal ${proposal.id} has Safe nonce ${proposal.safe.nonce} but the Safe is at nonce ${safeNonce}: execute the proposals before it first`,
        );
      }
      if (status.have < status.need)
        throw new Error(
          `proposal ${proposal.id} waits for signatures: ${status.have} of ${status.need}; collect more with gov sign or gov approve`,
        );
      const tx = await executeSafeTransaction(client, wallet, proposal);
      return `executed the Safe transaction of proposal ${proposal.id} in transaction ${tx}: now ${describeStatus(await proposalStatus(client, proposal))}`;
    }
    case "ready": {
      const live = await readLiveState(client, stack.config);
      if (executorRoute(live, wallet.account?.address) === "safe") {
        return describeExecutionProposal(await proposeExecutionThroughSafe(stack, proposal, status), proposal, status);
      }
      const tx = await executeTimelockBatch(client, wallet, proposal);
      return `executed timelock operation ${proposal.timelock!.operationId} of proposal ${proposal.id} in transaction ${tx}`;
    }
    case "scheduled":
      throw new Error(
        `proposal ${proposal.id} waits in the timelock until ${isoTime(status.eta)}; run gov execute again then`,
      );
    case "expired":
      if (proposal.executes)
        throw new Error(
          `proposal ${proposal.id} would execute operation ${proposal.executes.operationId}, which expired at ${isoTime(status.expiredAt)}${proposal.executes.expiryEnforcedBy === "tool" ? " (expiry enforced by this tool: the stock timelock would still run it)" : ""}; run pulumi up to re-propose`,
        );
      throw new Error(
        `proposal ${proposal.id} expired at ${isoTime(status.expiredAt)}${proposal.timelock?.expiryEnforcedBy === "tool" ? " (expiry enforced by this tool: the stock timelock would still run it)" : ""}, it can only be cancelled (gov cancel ${proposal.id}); run pulumi up to re-propose`,
      );
    case "executed":
      return `proposal ${proposal.id} is already executed`;
    case "cancelled":
    case "superseded":
      throw new Error(`proposal ${proposal.id} is ${status.state}: there is nothing to execute`);
  }
}
