import { getAddress, type Hex } from "viem";
import type { ProposalFile } from "../src/proposal/types";
import type { GovernanceEvent } from "./audit-events";

export interface AttributedEvent extends GovernanceEvent {
  /** The proposal this event belongs to: executed, approved, scheduled or cancelled by it. */
  proposal?: string;
  /** A change that no proposal in proposals/<stack>/ explains: drift made behind the tool's back. */
  unexplained: boolean;
}

const lower = (hash: string) => hash.toLowerCase();

/** The proposal a process event refers to by Safe tx hash or timelock operation id. */
function referencedProposal(event: GovernanceEvent, proposals: readonly ProposalFile[]): ProposalFile | undefined {
  const bySafeTx = (hash: string) =>
    proposals.find((p) => lower(p.safeTxHash) === lower(hash) && getAddress(p.safe.address) === event.address);
  const byOperation = (id: string) =>
    proposals.find(
      (p) =>
        p.timelock &&
        p.timelock.targets.length > 0 &&
        lower(p.timelock.operationId) === lower(id) &&
        getAddress(p.timelock.address) === event.address,
    );
  switch (event.event) {
    case "ApproveHash":
      return bySafeTx(event.args.approvedHash);
    case "ExecutionSuccess":
    case "ExecutionFailure":
      return bySafeTx(event.args.txHash);
    case "CallScheduled":
    case "CallExecuted":
    case "Cancelled":
      return byOperation(event.args.id);
    default:
      return undefined;
  }
}

/**
 * A change is explained when its transaction executes a proposal (the Safe's ExecutionSuccess of
 * the proposal's safeTxHash, or the timelock's CallExecuted of its operation id) and that proposal
 * calls the contract that emitted the change. Every other change is flagged unexplained.
 */
export function attributeEvents(
  events: readonly GovernanceEvent[],
  proposals: readonly ProposalFile[],
): AttributedEvent[] {
  const executedIn = new Map<Hex, ProposalFile[]>();
  for (const event of events) {
    if (event.event !== "ExecutionSuccess" && event.event !== "CallExecuted") continue;
    const proposal = referencedProposal(event, proposals);
    const executed = executedIn.get(event.txHash) ?? [];
    // A batch emits CallExecuted once per call: record each proposal once.
    if (proposal && !executed.includes(proposal)) executedIn.set(event.txHash, [...executed, proposal]);
  }
  return events.map((event) => {
    if (!event.isChange) return { ...event, proposal: referencedProposal(event, proposals)?.id, unexplained: false };
    const explainedBy = (executedIn.get(event.txHash) ?? []).find((p) =>
      p.calls.some((c) => getAddress(c.to) === event.address),
    );
    return { ...event, proposal: explainedBy?.id, unexplained: !explainedBy };
  });
}
