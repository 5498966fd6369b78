import { listProposals } from "../../src/proposal/files";
import type { Stack } from "../../src/reconcile/reconcile";
import { readGovernanceEvents } from "../audit-events";
import { attributeEvents, type AttributedEvent } from "../attribution";
import { isoTime, table, toJson } from "../output";

export interface AuditOptions {
  /** Default: the stack's network.startBlock. */
  fromBlock?: bigint;
  json: boolean;
}

function attributionText(event: AttributedEvent): string {
  if (event.unexplained) return "UNEXPLAINED";
  return event.proposal ? `proposal ${event.proposal}` : "";
}

/** The governance timeline of the stack's contracts, each change attributed to a proposal or flagged. */
export async function auditStack(stack: Stack, options: AuditOptions): Promise<string> {
  const fromBlock = options.fromBlock ?? BigInt(stack.config.network.startBlock ?? 0);
  const toBlock = await stack.client.getBlockNumber();
  const events = await readGovernanceEvents(stack.client, stack.config, fromBlock, toBlock);
  const chainId = stack.client.chain!.id;
  const proposals = (await listProposals(stack.root, stack.name)).filter((p) => p.chainId === chainId);
  // Direct mode sends changes from the admin key: there are no proposals to attribute them to.
  const direct = stack.config.governance.mode === "direct";
  const attributed: AttributedEvent[] = direct
    ? events.map((e) => ({ ...e, unexplained: false }))
    : attributeEvents(events, proposals);
  const unexplained = attributed.filter((e) => e.unexplained).length;

  if (options.json) {
    return toJson({
      stack: stack.name,
      chainId,
      mode: stack.config.governance.mode,
      fromBlock,
      toBlock,
      unexplained,
      events: attributed.map((e) => ({ ...e, time: isoTime(e.time), proposal: e.proposal ?? null })),
    });
  }
  const changes = attributed.filter((e) => e.isChange).length;
  const summary = `Governance events of stack ${stack.name}, blocks ${fromBlock} to ${toBlock}: ${attributed.length} events, ${changes} changes, ${direct ? "not attributed (direct mode has no proposals)" : `${unexplained} unexplained`}`;
  if (attributed.length === 0) return summary;
  const rows = attributed.map((e) => [
    isoTime(e.time),
    String(e.blockNumber),
    e.txHash,
    e.from,
    e.contract,
    attributionText(e),
    // Last: arguments (e.g. scheduled calldata) can be long, and would push the other columns apart.
    `${e.event}(${Object.entries(e.args)
      .map(([name, value]) => `${name}=${value}`)
      .join(", ")})`,
  ]);
  return `${summary}\n\n${table(["TIME", "BLOCK", "TX", "FROM", "CONTRACT", "ATTRIBUTION", "EVENT"], rows)}`;
}
