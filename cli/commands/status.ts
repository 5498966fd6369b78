import { describeFinding } from "../../src/policy/findings";
import { describeStatus } from "../../src/proposal/status";
import { describeUnfiled, inspectStack, type Inspection } from "../../src/reconcile/reconcile";
import type { Stack } from "../../src/reconcile/stack";
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
  const { calls, uncovered, carriers } = inspection;
  if (calls.length === 0) return "Pending plan: none, the chain matches the config";
  const carried = carriers.map((t) => t.proposal.id).join(", ");
  const heading =
    uncovered.length === 0
      ? `all carried by proposal ${carried}`
      : uncovered.length === calls.length
        ? "not yet proposed (run pulumi up)"
        : `${uncovered.length} not yet proposed (run pulumi up), the rest carried by proposal ${carried}`;
  return [`Pending plan: ${calls.length} call(s), ${heading}`, ...calls.map((call) => `  - ${call.description}`)].join(
    "\n",
  );
}

/** Files that were refused and config warnings: shown, never blocking the rest. */
function notices(stack: string, inspection: Inspection): string {
  const lines = [
    ...inspection.unfiled.map((o) => describeUnfiled(stack, o)),
    ...inspection.unreadable.map((e) => `refused: ${e.message}`),
    ...inspection.findings.warnings.map((w) => `warning: ${describeFinding(w)}`),
  ];
  return lines.length ? `\n\n${lines.join("\n")}` : "";
}

/** Every proposal of the stack with its on-chain status, then what the plan still needs. */
export async function stackStatus(stack: Stack): Promise<string> {
  const inspection = await inspectStack(stack);
  const unmanaged = inspection.unmanaged.length
    ? `\n\nNot managed by this config:\n${inspection.unmanaged.map((n) => `  - ${n}`).join("\n")}`
    : "";
  return `Stack ${stack.name} at block ${inspection.live.blockNumber}\n\n${proposalsTable(inspection)}\n\n${pendingPlan(inspection)}${unmanaged}${notices(stack.name, inspection)}`;
}
