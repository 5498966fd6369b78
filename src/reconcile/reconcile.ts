import type { Address, Hex } from "viem";
import type { LiveState } from "../chain/read-state";
import { readStackFile } from "../config/stack-file";
import { recordProposedLayouts } from "../implementation/record";
import { planChanges } from "../plan/plan";
import type { PlannedCall } from "../plan/types";
import { unmanagedNotes } from "../plan/unmanaged";
import type { PolicyFindings } from "../policy/findings";
import { assertProposable, inspectPolicy, sealProposal } from "../policy/gate";
import { buildProposal } from "../proposal/build";
import { contractLabels } from "../proposal/describe";
import { readProposalDirectory, writeProposalFiles } from "../proposal/files";
import type { PacketContext } from "../proposal/packet";
import { describeStatus, proposalStatus, timelockStatus, type ProposalStatus } from "../proposal/status";
import { scheduledOperations, type ScheduledOperation } from "../chain/scheduled";
import { verifyProposal, verifyProposalText } from "../proposal/verify";
import type { ProposalFile } from "../proposal/types";
import { executionsOfProposals } from "./proposal-executions";
import { readStackState } from "./read-stack";
import { openStack, type Stack } from "./stack";

export interface TrackedProposal {
  proposal: ProposalFile;
  status: ProposalStatus;
}

export interface Inspection {
  live: LiveState;
  /** Everything that differs between config and chain. */
  calls: PlannedCall[];
  /** Readable, verified proposals of this chain with their on-chain status. */
  proposals: TrackedProposal[];
  /** Proposal files refused: corrupt, not of the format, or text that differs from their calldata. */
  unreadable: Error[];
  /** The plan's calls no in-flight proposal carries: what `up` would propose. */
  uncovered: PlannedCall[];
  /** In-flight proposals carrying the plan's other calls (queued operations first). */
  carriers: TrackedProposal[];
  /** Queued or expired operations that `up` would cancel: they carry a call the plan no longer has, or can no longer run. */
  replaced: TrackedProposal[];
  /** Policy errors (proposeChanges refuses), warnings (preview shows them) and the overrides used. */
  findings: PolicyFindings;
  /** What the config does not govern though the chain holds it, e.g. "kms.devices: not managed, 3 on chain". */
  unmanaged: string[];
  /** Operations queued on chain that make only wanted calls but whose proposal file is missing here (a fresh clone). */
  unfiled: UnfiledOperation[];
}

export interface UnfiledOperation extends ScheduledOperation {
  status: ProposalStatus;
}

const sameCall = (a: { to: string; data: string; sender: string }, b: { to: string; data: string; sender: string }) =>
  a.to === b.to && a.data === b.data && a.sender === b.sender;

function sameCalls(calls: readonly PlannedCall[], proposal: ProposalFile): boolean {
  return calls.length === proposal.calls.length && calls.every((c, i) => sameCall(c, proposal.calls[i]));
}

/** The calls a proposal's timelock operation makes (its Safe part has run once it is queued). */
function queuedCalls(proposal: ProposalFile): ProposalFile["calls"] {
  const timelock = proposal.timelock;
  return timelock ? proposal.calls.filter((c) => c.sender === timelock.address) : [];
}

/**
 * Which pending calls are already on their way. A queued operation (its Safe part executed) is
 * tracked by its operation id: kept while every call it makes is still wanted, and its calls are
 * not proposed again; otherwise it is replaced (cancelled by the next proposal). An unexecuted
 * proposal carries the rest only if it holds exactly those calls.
 */
export function coverage(
  calls: readonly PlannedCall[],
  proposals: readonly TrackedProposal[],
): Pick<Inspection, "uncovered" | "carriers" | "replaced"> {
  const queued = proposals.filter(
    (t) => (t.status.state === "scheduled" || t.status.state === "ready") && queuedCalls(t.proposal).length,
  );
  const kept = queued.filter((t) => queuedCalls(t.proposal).every((q) => calls.some((c) => sameCall(c, q))));
  const replaced = [
    ...queued.filter((t) => !kept.includes(t)),
    ...proposals.filter((t) => t.status.state === "expired"),
  ];
  const remaining = calls.filter((c) => !kept.some((t) => queuedCalls(t.proposal).some((q) => sameCall(c, q))));
  // An unexecuted proposal carries the rest only if it also cancels every replaced operation.
  const cancelsReplaced = (p: ProposalFile) =>
    replaced.every((t) => p.timelock?.cancels.includes(t.proposal.timelock!.operationId));
  const unexecuted = remaining.length
    ? proposals.find(
        (t) =>
          t.status.state === "awaiting-signatures" && sameCalls(remaining, t.proposal) && cancelsReplaced(t.proposal),
      )
    : undefined;
  return { uncovered: unexecuted ? [] : remaining, carriers: [...kept, ...(unexecuted ? [unexecuted] : [])], replaced };
}

/** config → live state (at the head unless given) → plan, and which proposals are in flight. Reads only. */
export async function inspectStack(stack: Stack, given?: LiveState): Promise<Inspection> {
  const live = given ?? (await readStackState(stack));
  const calls = planChanges(stack.config, live);
  const directory = await readProposalDirectory(stack.root, stack.name);
  const unreadable: Error[] = [...directory.unreadable];
  const labels = contractLabels(stack.config);
  const verified: ProposalFile[] = [];
  for (const proposal of directory.proposals) {
    if (proposal.chainId !== live.chainId) continue;
    try {
      verifyProposal(proposal);
      verifyProposalText(proposal, labels);
    } catch (error) {
      unreadable.push(error as Error);
      continue;
    }
    verified.push(proposal);
  }
  const executions = await executionsOfProposals(
    stack,
    verified,
    { number: live.blockNumber, hash: live.blockHash },
    live.safe?.nonce,
  );
  // Statuses are independent reads at the pinned block: all at once, not one proposal's round trips after another's.
  const proposals: TrackedProposal[] = await Promise.all(
    verified.map(async (proposal) => ({
      proposal,
      status: await proposalStatus(stack.client, proposal, live.blockNumber, executions),
    })),
  );
  const findings = await inspectPolicy(stack, live, calls);
  const covered = coverage(calls, proposals);
  const unfiled = await unfiledOperations(stack, live, covered.uncovered, proposals);
  const byUnfiled = (c: PlannedCall) =>
    unfiled.some((o) => o.calls.some((q) => sameCall(c, { ...q, sender: live.timelock!.address })));
  return {
    live,
    calls,
    proposals,
    unreadable,
    ...covered,
    uncovered: covered.uncovered.filter((c) => !byUnfiled(c)),
    findings: { ...findings, warnings: [...stack.warnings, ...findings.warnings] },
    unmanaged: unmanagedNotes(stack.config, live),
    unfiled,
  };
}

/**
 * Operations queued in the timelock by no local proposal file, each of whose calls the plan still
 * wants: a second clone without proposals/<stack>/ must not propose them again. Looked for (a scan
 * of CallScheduled, matched by operation id) only when the timelock has calls to make.
 */
async function unfiledOperations(
  stack: Stack,
  live: LiveState,
  uncovered: readonly PlannedCall[],
  proposals: readonly TrackedProposal[],
): Promise<UnfiledOperation[]> {
  const g = stack.config.governance;
  const timelock = live.timelock?.address;
  if (g.mode !== "safe+timelock" || !timelock || !uncovered.some((c) => c.sender === timelock)) return [];
  const filed = new Set(proposals.map((t) => t.proposal.timelock?.operationId.toLowerCase()));
  const start = stack.config.network.startBlock ?? stack.scans.checkpoints.load()[0]?.fromBlock ?? 0;
  const scheduled = await scheduledOperations(
    stack.client,
    timelock,
    {
      fromBlock: BigInt(start),
      to: { number: live.blockNumber, hash: live.blockHash },
      maxRange: stack.config.network.logChunkSize === undefined ? undefined : BigInt(stack.config.network.logChunkSize),
      concurrency: stack.config.network.logScanConcurrency,
    },
    stack.scans.scheduled,
  );
  const wanted = (q: ScheduledOperation["calls"][number]) =>
    uncovered.some((c) => sameCall(c, { ...q, sender: timelock }) && c.value === q.value);
  const unfiled: UnfiledOperation[] = [];
  for (const operation of scheduled) {
    if (filed.has(operation.operationId.toLowerCase()) || !operation.calls.every(wanted)) continue;
    const toolExpiration = live.timelock!.kind === "openzeppelin" ? g.timelock.expiration : undefined;
    const status = await timelockStatus(
      stack.client,
      timelock,
      operation.operationId,
      live.blockNumber,
      toolExpiration,
    );
    if (status.state === "scheduled" || status.state === "ready") unfiled.push({ ...operation, status });
  }
  return unfiled;
}

/** What preview says of an operation queued on chain whose proposal file is missing here. */
export function describeUnfiled(stack: string, o: UnfiledOperation): string {
  return `in flight (from the chain): timelock operation ${o.operationId}, scheduled at block ${o.blockNumber} (tx ${o.txHash}), is ${describeStatus(o.status)}; it makes ${o.calls.length} call(s) this plan wants, so they are not proposed again. Its proposal file is not in proposals/${stack}/: restore it from git (git checkout <branch> -- proposals/${stack}/)`;
}

/** What the packet of a new or shown proposal says about the other proposals' queued operations. */
export function packetContext(
  proposal: ProposalFile,
  tracked: readonly TrackedProposal[],
  safe?: { owners: readonly Address[]; threshold: number },
): PacketContext {
  const cancels = proposal.timelock?.cancels ?? [];
  const operationOf = (t: TrackedProposal) => t.proposal.timelock?.operationId;
  const leavesQueued = tracked
    .filter(
      (t) =>
        t.proposal.id !== proposal.id &&
        (t.status.state === "scheduled" || t.status.state === "ready") &&
        operationOf(t) &&
        !cancels.includes(operationOf(t)!),
    )
    .map((t) => ({ operationId: operationOf(t)!, proposalId: t.proposal.id }));
  return { ...(safe ? { safe } : {}), leavesQueued };
}

export interface ProposeOptions {
  /** Run the proposal on a fork (Safe, time warp, timelock) first; refuse it unless re-planning there finds nothing. */
  proveConvergence?: boolean;
}

/**
 * Refuses, before anything is written, when the policy forbids the change (see src/policy/).
 * Turns the pending calls no in-flight proposal carries into ONE proposal. It reuses the nonce of
 * an unexecuted proposal (only one of them can ever execute); operations queued in the timelock
 * stay unless they would make a change the config no longer asks for (then they are cancelled,
 * and the packet says which); the packet also lists the queued operations left in place.
 */
export async function proposeChanges(
  stack: Stack,
  inspection: Inspection,
  proposerKey?: Hex,
  options: ProposeOptions = {},
): Promise<ProposalFile | undefined> {
  const { live, calls } = inspection;
  await assertProposable(stack, live, calls, inspection.findings, (name) =>
    openStack({ name, root: stack.root, rawConfig: readStackFile(stack.root, name) }),
  );
  if (calls.length === 0) return undefined;
  if (inspection.uncovered.length === 0) return inspection.carriers.at(-1)?.proposal;
  const unexecuted = inspection.proposals
    .filter((t) => t.status.state === "awaiting-signatures")
    .map((t) => BigInt(t.proposal.safe.nonce));
  // biome-ignore lint/complexity/useMathMinMax: nonces are bigints, which Math.min does not take
  const nonce = unexecuted.length ? unexecuted.reduce((a, b) => (a < b ? a : b)) : undefined;
  // Cancelled: queued operations that would make a change no longer wanted, and expired ones (so
  // the timelock's queue holds only what can still happen). Queued operations still wanted stay.
  const cancels = inspection.replaced.map((t) => t.proposal.timelock!.operationId);
  const kept = inspection.carriers.filter((t) => t.status.state === "scheduled" || t.status.state === "ready");
  const built = await buildProposal({
    stack: stack.name,
    config: stack.config,
    live,
    calls: inspection.uncovered,
    client: stack.client,
    nonce,
    cancels,
    cancelledProposals: inspection.proposals.map((t) => t.proposal),
    proposerKey,
  });
  const proposal = await sealProposal(built, stack, live, inspection.findings, {
    ...options,
    queued: kept.map((t) => t.proposal.timelock!),
  });
  await writeProposalFiles(stack.root, proposal, packetContext(proposal, inspection.proposals));
  await recordProposedLayouts(stack, calls);
  return proposal;
}
