import { getAddress, zeroAddress, type Address } from "viem";
import { readLiveState, type LiveState } from "../chain/read-state";
import { plannedCall } from "../plan/planned-call";
import type { PlannedCall } from "../plan/types";
import { buildProposal } from "../proposal/build";
import { listProposals, writeProposalFiles } from "../proposal/files";
import { describeStatus, isInFlight, proposalStatus, type ProposalStatus } from "../proposal/status";
import type { ProposalFile } from "../proposal/types";
import type { Stack } from "./stack";

/** Who may run a ready batch: anyone, a named account (an executor key), or only the Safe (a proposal of its own). */
export type ExecutorRoute = "anyone" | "account" | "safe";

export function executorRoute(live: LiveState, account?: Address): ExecutorRoute {
  const executors = live.timelock?.roles.executor ?? [];
  if (executors.includes(zeroAddress)) return "anyone";
  if (account && executors.includes(getAddress(account))) return "account";
  if (live.safe && executors.includes(live.safe.address)) return "safe";
  throw new Error(
    `only ${executors.join(", ") || "nobody"} may execute timelock operations on ${live.timelock?.address}; declare governance.timelock.executors and let a proposal grant the role`,
  );
}

/** Ready operations only the Safe may execute and that no in-flight proposal executes yet: each needs an execution proposal. */
export function awaitingSafeExecution(
  live: LiveState,
  proposals: readonly { proposal: ProposalFile; status: ProposalStatus }[],
): ProposalFile[] {
  const executors = live.timelock?.roles.executor ?? [];
  if (!live.safe || executors.includes(zeroAddress) || !executors.includes(live.safe.address)) return [];
  const executing = new Set(
    proposals.filter((t) => t.proposal.executes && isInFlight(t.status)).map((t) => t.proposal.executes!.operationId),
  );
  return proposals
    .filter((t) => t.status.state === "ready" && t.proposal.timelock && !executing.has(t.proposal.timelock.operationId))
    .map((t) => t.proposal);
}

function executeBatchCall(target: ProposalFile, safe: Address): PlannedCall {
  const t = target.timelock!;
  return plannedCall({
    resource: "timelock",
    property: "execute",
    to: t.address,
    sender: safe,
    change: { kind: "timelock.execute", operation: t },
    description: `Timelock: execute operation ${t.operationId} of proposal ${target.id} (${target.calls.length} call(s)), as the Safe holds the executor role`,
  });
}

/**
 * The timelock's executor is the Safe: the ready batch runs through a Safe transaction of its own,
 * signed by k owners like any proposal. Written once; a rerun names the one already in flight.
 */
export async function proposeExecutionThroughSafe(
  stack: Stack,
  target: ProposalFile,
  status: Extract<ProposalStatus, { state: "ready" }>,
): Promise<{ proposal: ProposalFile; written: boolean }> {
  for (const other of await listProposals(stack.root, stack.name)) {
    if (other.executes?.operationId !== target.timelock!.operationId) continue;
    if (isInFlight(await proposalStatus(stack.client, other))) return { proposal: other, written: false };
  }
  const live = await readLiveState(stack.client, stack.config);
  if (!live.safe) throw new Error("the stack has no Safe");
  const built = await buildProposal({
    stack: stack.name,
    config: stack.config,
    live,
    calls: [executeBatchCall(target, live.safe.address)],
    client: stack.client,
  });
  const proposal: ProposalFile = {
    ...built,
    executes: {
      proposalId: target.id,
      timelock: target.timelock!.address,
      operationId: target.timelock!.operationId,
      expiresAt: status.expiresAt.toString(),
      expiryEnforcedBy: target.timelock!.expiryEnforcedBy ?? "contract",
    },
  };
  await writeProposalFiles(stack.root, proposal);
  return { proposal, written: true };
}

/** One line for the user after an execution proposal was written or found. */
export function describeExecutionProposal(
  result: { proposal: ProposalFile; written: boolean },
  target: ProposalFile,
  status: ProposalStatus,
): string {
  const p = result.proposal;
  return [
    `${result.written ? "wrote" : "already in flight:"} proposal ${p.id}: the Safe executes timelock operation ${target.timelock!.operationId} of proposal ${target.id} (${describeStatus(status)})`,
    `next: gov sign ${p.id} / gov approve ${p.id} until ${p.safe.threshold} owners signed, then gov execute ${p.id}`,
  ].join("\n");
}
