import { describeStatus } from "../../src/proposal/status";
import { inspectStack, type Inspection, type Stack } from "../../src/reconcile/reconcile";
import { table } from "../output";

function proposalsTable(inspection: Inspection): string {
  if (inspection.proposals.length === 0) return "no proposals";
  const rows = inspection.proposals.map(({ proposal, status }) => [
    proposal.id,
    proposal.safe.nonce,
    describeStatus(status),
    String(proposal.calls.length),
    proposal.emergency ? "yes" : "no",
  ]);
  return table(["ID", "NONCE", "STATUS", "CALLS", "EMERGENCY"], rows);
}

function pendingPlan(inspection: Inspection): string {
  const { calls, coveredBy } = inspection;
  if (calls.length === 0) return "Pending plan: none, the chain matches the config";
  const heading = coveredBy ? `all carried by proposal ${coveredBy.proposal.id}` : "not yet proposed (run pulumi up)";
  return [`Pending plan: ${calls.length} call(s), ${heading}`, ...calls.map((call) => `  - ${call.description}`)].join(
    "\n",
  );
}

/** Every proposal of the stack with its on-chain status, then what the plan still needs. */
export async function stackStatus(stack: Stack): Promise<string> {
  const inspection = await inspectStack(stack);
  const unmanaged = inspection.unmanaged.length
    ? `\n\nNot managed by this config:\n${inspection.unmanaged.map((n) => `  - ${n}`).join("\n")}`
    : "";
  return `Stack ${stack.name} at block ${inspection.live.blockNumber}\n\n${proposalsTable(inspection)}\n\n${pendingPlan(inspection)}${unmanaged}`;
}
