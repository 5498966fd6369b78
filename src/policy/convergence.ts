import { createTestClient, createWalletClient, encodeFunctionData, http, parseEther, type Address, type Hex, type PublicClient } from "viem";
import { startAnvil } from "../chain/anvil";
import { safeAbi, timelockAbi } from "../chain/abis";
import { chainDefinition, createChainClient } from "../chain/client";
import { describeRevert, revertDataOf } from "../chain/revert";
import { readLiveState, type LiveState } from "../chain/read-state";
import { formatDuration } from "../config/duration";
import type { StackConfig } from "../config/schema";
import { planChanges } from "../plan/plan";
import { packSignatures } from "../proposal/execute";
import type { ConvergenceProof, ProposalFile } from "../proposal/types";

export interface ConvergenceResult {
  converged: boolean;
  /** The plan after the proposal ran on the fork: empty when it converged. */
  remaining: string[];
  proof: ConvergenceProof;
}

/**
 * Runs the proposal on a fork of the stack's chain at the plan's block (anvil --fork-url):
 * k owners approve (impersonated), the Safe executes, time moves past the delay, the timelock
 * executes; then the chain is read again and re-planned. Nothing reaches the real chain.
 */
export async function proveConvergence(args: { config: StackConfig; live: LiveState; proposal: ProposalFile }): Promise<ConvergenceResult> {
  const { config, live, proposal } = args;
  if (!live.safe) throw new Error("convergence proof: the stack has no Safe; direct mode sends its calls itself");
  if (BigInt(proposal.safe.nonce) !== live.safe.nonce) {
    throw new Error(`convergence proof: proposal ${proposal.id} uses Safe nonce ${proposal.safe.nonce} but the Safe's next is ${live.safe.nonce}; execute or cancel the earlier proposal first`);
  }
  const fork = await startAnvil({ forkUrl: config.network.rpcUrls[0], forkBlockNumber: live.blockNumber, chainId: live.chainId });
  try {
    const chain = chainDefinition(live.chainId, [fork.rpcUrl]);
    const client = createChainClient({ chainId: live.chainId, rpcUrls: [fork.rpcUrl] });
    const anvil = createTestClient({ mode: "anvil", chain, transport: http(fork.rpcUrl) });
    const wallet = createWalletClient({ chain, transport: http(fork.rpcUrl) });
    const send = async (from: Address, to: Address, data: Hex, what: string) => {
      let hash: Hex;
      try {
        hash = await wallet.sendTransaction({ account: from, chain, to, data });
      } catch (error) {
        throw new Error(`convergence proof: ${what} reverts on the fork at block ${live.blockNumber}: ${describeRevert(revertDataOf(error), (error as Error).message.split("\n")[0])}`);
      }
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`convergence proof: ${what} reverted on the fork in ${hash}`);
    };

    const approvers = live.safe.owners.slice(0, live.safe.threshold);
    for (const owner of approvers) {
      await anvil.impersonateAccount({ address: owner });
      await anvil.setBalance({ address: owner, value: parseEther("1") });
      await send(owner, live.safe.address, encodeFunctionData({ abi: safeAbi, functionName: "approveHash", args: [proposal.safeTxHash] }), `approveHash by ${owner}`);
    }
    const steps = [`forked chain ${live.chainId} at block ${live.blockNumber}`, `${approvers.length} of ${live.safe.owners.length} owners approved ${proposal.safeTxHash} (impersonated: ${approvers.join(", ")})`];
    const t = proposal.safeTx;
    const exec = encodeFunctionData({
      abi: safeAbi,
      functionName: "execTransaction",
      args: [t.to, BigInt(t.value), t.data, t.operation, BigInt(t.safeTxGas), BigInt(t.baseGas), BigInt(t.gasPrice), t.gasToken, t.refundReceiver, packSignatures([], approvers, live.safe.threshold)],
    });
    await send(approvers[0], live.safe.address, exec, "the Safe transaction");
    steps.push("executed the Safe transaction");

    const op = proposal.timelock;
    if (op?.targets.length) {
      await anvil.increaseTime({ seconds: Number(op.delay) });
      await anvil.mine({ blocks: 1 });
      const execute = encodeFunctionData({ abi: timelockAbi, functionName: "executeBatch", args: [op.targets, op.values.map(BigInt), op.payloads, op.predecessor, op.salt] });
      await send(approvers[0], op.address, execute, `timelock operation ${op.operationId}`);
      steps.push(`advanced time ${formatDuration(BigInt(op.delay))} and executed timelock operation ${op.operationId}`);
    }
    const remaining = await replan(client, config);
    steps.push(`re-read the fork and planned again: ${remaining.length ? `${remaining.length} call(s) left` : "empty plan"}`);
    return { converged: remaining.length === 0, remaining, proof: { forkedAtBlock: live.blockNumber.toString(), steps } };
  } finally {
    await fork.stop();
  }
}

async function replan(client: PublicClient, config: StackConfig): Promise<string[]> {
  return planChanges(config, await readLiveState(client, config)).map((c) => c.description);
}
