import {
  BaseError,
  ContractFunctionRevertedError,
  createTestClient,
  createWalletClient,
  ExecutionRevertedError,
  getAddress,
  http,
  parseEther,
  zeroAddress,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { startAnvil } from "../chain/anvil";
import { candidateKey, roleCandidateKey, type Candidates } from "../chain/candidates";
import { decodeCallData } from "../plan/changes";
import { executeBatchData } from "../proposal/operation";
import { encodeApproveHash, encodeExecTransaction } from "../proposal/safe-tx";
import { chainDefinition, createChainClient } from "../chain/client";
import { startRpcRelay, type RpcRelay } from "../chain/rpc-relay";
import { accessListsAt, accountsToLoad, forkCalls, historySlots, scalarReadCall, stackAccounts } from "./fork-prefetch";
import { describeRevert, revertDataOf } from "../chain/revert";
import { readLiveState, type LiveState } from "../chain/read-state";
import { formatDuration } from "../config/duration";
import { GovernanceError } from "../errors";
import type { StackConfig } from "../config/schema";
import { planChanges } from "../plan/plan";
import type { PlannedCall } from "../plan/types";
import { packSignatures } from "../proposal/execute";
import type { ConvergenceProof, ProposalFile, TimelockOperation } from "../proposal/types";

export interface ConvergenceResult {
  converged: boolean;
  /** The plan after the proposal ran on the fork: empty when it converged. */
  remaining: string[];
  proof: ConvergenceProof;
}

/** The proposal itself fails on the fork: a finding about the proposal, never worth a retry. */
class ForkRevertError extends GovernanceError {
  constructor(message: string) {
    super("fork", message);
  }
}

const FORK_REQUEST_TIMEOUT_MS = 60_000;
/** Fork attempts before giving up, should the relay itself run out of retries. */
const FORK_ATTEMPTS = 3;

/**
 * Runs the proposal on a fork of the stack's chain at the plan's block (anvil --fork-url):
 * k owners approve (impersonated), the Safe executes, time moves past the delay, the timelock
 * executes; then the chain is read again and re-planned. Nothing reaches the real chain. A fork
 * that fails for RPC reasons is retried; a revert is not.
 */
export async function proveConvergence(args: ConvergenceArgs & { client: PublicClient }): Promise<ConvergenceResult> {
  const { config, live, proposal } = args;
  if (!live.safe) throw new Error("convergence proof: the stack has no Safe; direct mode sends its calls itself");
  if (BigInt(proposal.safe.nonce) !== live.safe.nonce) {
    throw new Error(
      `convergence proof: proposal ${proposal.id} uses Safe nonce ${proposal.safe.nonce} but the Safe's next is ${live.safe.nonce}; execute or cancel the earlier proposal first`,
    );
  }
  // anvil forks through the run's own retrying client, which rotates over every configured URL.
  const relay = await startRpcRelay(args.client, { pinnedBlock: live.blockNumber });
  let lastError: unknown;
  try {
    await prefetchForkState(args, relay);
    for (let attempt = 0; attempt < FORK_ATTEMPTS; attempt++) {
      try {
        return await runOnFork(args, relay.url);
      } catch (error) {
        if (error instanceof ForkRevertError) throw error;
        lastError = error;
      }
    }
  } finally {
    await relay.stop();
  }
  throw new Error(
    `convergence proof: could not run on a fork of ${config.network.rpcUrls.join(", ")} (${FORK_ATTEMPTS} attempts): ${(lastError as Error).message.split("\n")[0]}; fix network.rpcUrls, or set policy.proveConvergence: false to propose without the proof`,
  );
}

interface ConvergenceArgs {
  config: StackConfig;
  live: LiveState;
  proposal: ProposalFile;
  /** Operations already queued in the timelock that the proposal leaves in place: they run on the fork too. */
  queued?: TimelockOperation[];
}

/** The owners who approve on the fork: the first `threshold` of them. */
const approversOf = (live: LiveState) => live.safe!.owners.slice(0, live.safe!.threshold);

/** Whoever the executor role allows: any account when it is open, else a holder (the Safe, impersonated). */
function executorOf(live: LiveState): Address | undefined {
  const executors = live.timelock?.roles.executor ?? [];
  if (executors.includes(zeroAddress)) return approversOf(live)[0];
  return executors.includes(live.safe!.address) ? live.safe!.address : executors[0];
}

/**
 * Loads, in a few requests, what the fork would otherwise fetch one read at a time: the stack's
 * accounts and whatever the proposal's calls read (their access lists on the chain).
 */
async function prefetchForkState(args: ConvergenceArgs & { client: PublicClient }, relay: RpcRelay): Promise<void> {
  const { live, proposal } = args;
  const approvers = approversOf(live);
  const queued = args.queued ?? [];
  const calls = [...forkCalls(live, proposal, approvers, queued), scalarReadCall(args.config)];
  const lists = await accessListsAt(args.client, live.blockNumber, calls);
  // Blocks mined: one per approval, the Safe transaction, the time warp, one per timelock operation, a follow-up.
  const blocks = approvers.length + 1 + (proposal.timelock || queued.length ? 2 + queued.length : 0) + 1;
  const known = new Map([...stackAccounts(live, executorOf(live)), ...historySlots(live.blockNumber, blocks)]);
  await relay.prefetch(accountsToLoad(known, calls, lists));
}

async function runOnFork(args: ConvergenceArgs, forkUrl: string): Promise<ConvergenceResult> {
  const { config, live, proposal } = args;
  const safe = live.safe!;
  const fork = await startAnvil({
    forkUrl,
    forkBlockNumber: live.blockNumber,
    chainId: live.chainId,
    forkChainId: live.chainId,
    forkTimeoutMs: FORK_REQUEST_TIMEOUT_MS,
    forkRetries: 10,
    // No dev accounts (owners are impersonated) and explicit mining: every fetch a fork makes costs a request.
    accounts: 0,
    noMining: true,
  });
  try {
    const chain = chainDefinition(live.chainId, [fork.rpcUrl]);
    // The fork may wait on the relay's retries while it fetches state: give it time.
    const client = createChainClient({
      chainId: live.chainId,
      rpcUrls: [fork.rpcUrl],
      timeoutMs: FORK_REQUEST_TIMEOUT_MS,
    });
    const anvil = createTestClient({
      mode: "anvil",
      chain,
      transport: http(fork.rpcUrl, { timeout: FORK_REQUEST_TIMEOUT_MS }),
    });
    const wallet = createWalletClient({ chain, transport: http(fork.rpcUrl, { timeout: FORK_REQUEST_TIMEOUT_MS }) });
    const send = async (from: Address, to: Address, data: Hex, what: string) => {
      let hash: Hex;
      try {
        hash = await wallet.sendTransaction({ account: from, chain, to, data });
      } catch (error) {
        // Only a revert condemns the proposal; a timeout or dropped request is the RPC's, and retried.
        if (!isRevert(error)) throw error;
        throw new ForkRevertError(
          `convergence proof: ${what} reverts on the fork at block ${live.blockNumber}: ${describeRevert(revertDataOf(error), (error as Error).message.split("\n")[0])}`,
        );
      }
      // Mined here and now, so the receipt is the fork's own: never asked of the chain's RPC.
      await anvil.mine({ blocks: 1 });
      const receipt = await client.getTransactionReceipt({ hash });
      if (receipt.status !== "success")
        throw new ForkRevertError(`convergence proof: ${what} reverted on the fork in ${hash}`);
    };

    const approvers = approversOf(live);
    for (const owner of approvers) {
      await anvil.impersonateAccount({ address: owner });
      await anvil.setBalance({ address: owner, value: parseEther("1") });
      await send(owner, safe.address, encodeApproveHash(proposal.safeTxHash), `approveHash by ${owner}`);
    }
    const steps = [
      `forked chain ${live.chainId} at block ${live.blockNumber}`,
      `${approvers.length} of ${safe.owners.length} owners approved ${proposal.safeTxHash} (impersonated: ${approvers.join(", ")})`,
    ];
    const exec = encodeExecTransaction(proposal.safeTx, packSignatures([], approvers, safe.threshold));
    await send(approvers[0], safe.address, exec, "the Safe transaction");
    steps.push("executed the Safe transaction");

    const ops = [...(proposal.timelock?.targets.length ? [proposal.timelock] : []), ...(args.queued ?? [])];
    const delay = ops.reduce((max, op) => (BigInt(op.delay) > max ? BigInt(op.delay) : max), 0n);
    if (ops.length) {
      await anvil.increaseTime({ seconds: Number(delay) });
      await anvil.mine({ blocks: 1 });
    }
    let advanced = `advanced time ${formatDuration(delay)} and `;
    for (const op of ops) {
      const execute = executeBatchData(op);
      const executor = executorOf(live);
      if (!executor)
        throw new ForkRevertError(`convergence proof: nobody holds the executor role of timelock ${op.address}`);
      if (executor !== approvers[0]) {
        await anvil.impersonateAccount({ address: executor });
        await anvil.setBalance({ address: executor, value: parseEther("1") });
      }
      await send(executor, op.address, execute, `timelock operation ${op.operationId}`);
      steps.push(
        `${advanced}executed ${op === proposal.timelock ? "" : "the already queued "}timelock operation ${op.operationId}${executor === approvers[0] ? "" : ` as ${executor === safe.address ? "the Safe" : executor} (executor role)`}`,
      );
      advanced = "";
    }
    const touched = touchedBy([
      ...proposal.calls,
      ...(args.queued ?? []).flatMap((op) => op.targets.map((to, i) => ({ to, data: op.payloads[i] }))),
    ]);
    let remaining = await replan(client, config, live, touched);
    // A two-step transfer converges only once the new owner accepts, which is its own next proposal: run it too.
    const followUps = remaining.filter(
      (c) =>
        c.change.kind === "owner.accept" &&
        proposal.calls.some((p) => decodeCallData(p.data)?.kind === "owner.transfer" && getAddress(p.to) === c.to),
    );
    for (const accept of followUps) {
      await anvil.impersonateAccount({ address: accept.sender });
      await anvil.setBalance({ address: accept.sender, value: parseEther("1") });
      await send(accept.sender, accept.to, accept.data, `the follow-up ${accept.description}`);
      steps.push(`ran the follow-up the new owner proposes next (impersonated): ${accept.description}`);
    }
    if (followUps.length) remaining = await replan(client, config, live, touched);
    steps.push(
      `re-read the fork and planned again: ${remaining.length ? `${remaining.length} call(s) left` : "empty plan"}`,
    );
    const left = remaining.map((c) => c.description);
    return {
      converged: left.length === 0,
      remaining: left,
      proof: { forkedAtBlock: live.blockNumber.toString(), steps },
    };
  } finally {
    await fork.stop();
  }
}

function isRevert(error: unknown): boolean {
  return (
    error instanceof BaseError &&
    error.walk((e) => e instanceof ExecutionRevertedError || e instanceof ContractFunctionRevertedError) !== null
  );
}

/** What the proposal and the operations queued with it can change: all the fork reads again besides the scalars. */
function touchedBy(calls: readonly { to: Address; data: Hex }[]): { items: Candidates; roles: boolean } {
  const items: Candidates = new Map();
  let roles = false;
  for (const call of calls) {
    const change = decodeCallData(call.data);
    if (change?.kind === "set.add" || change?.kind === "set.remove") {
      const key = candidateKey(getAddress(call.to), change.set.property);
      items.set(key, (items.get(key) ?? new Set()).add(change.item));
    }
    if (change?.kind === "timelock.grant-role" || change?.kind === "timelock.revoke-role") {
      roles = true;
      const key = roleCandidateKey(getAddress(call.to), change.roleId);
      items.set(key, (items.get(key) ?? new Set()).add(change.account));
    }
  }
  return { items, roles };
}

async function replan(
  client: PublicClient,
  config: StackConfig,
  live: LiveState,
  touched: ReturnType<typeof touchedBy>,
): Promise<PlannedCall[]> {
  return planChanges(config, await readLiveState(client, config, { reuse: { state: live, ...touched } }));
}
