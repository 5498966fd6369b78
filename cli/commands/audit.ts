import { getAddress, type Address, type Hex } from "viem";
import { safeAbi } from "../../src/chain/abis";
import { listProposals } from "../../src/proposal/files";
import { proposalStatus, timelockStatus, validFileSignatures } from "../../src/proposal/status";
import type { ProposalFile } from "../../src/proposal/types";
import { governanceAddresses } from "../../src/policy/rails";
import type { Stack } from "../../src/reconcile/stack";
import { readGovernanceEvents } from "../audit-events";
import { attributeEvents, type AttributedEvent } from "../attribution";
import { monitoringFindings, type ChainOperation, type MonitoringLimits } from "../monitoring";
import { isoTime, table, toJson } from "../output";

export interface AuditOptions {
  /** Default: the stack's network.startBlock. */
  fromBlock?: bigint;
  json: boolean;
  /** Alert mode: one line per finding, failing when there is any. */
  check?: MonitoringLimits;
}

function attributionText(event: AttributedEvent): string {
  if (event.unexplained) return "UNEXPLAINED";
  if (event.setup) return "setup (before governance held it)";
  return event.proposal ? `proposal ${event.proposal}` : "";
}

/** Every operation the timelock scheduled in the scanned range, with its state now. */
async function chainOperations(
  stack: Stack,
  events: readonly AttributedEvent[],
  proposals: readonly ProposalFile[],
): Promise<ChainOperation[]> {
  const timelock =
    stack.config.governance.mode === "safe+timelock" ? stack.config.governance.timelock.address : undefined;
  if (!timelock) return [];
  const scheduled = new Map<string, AttributedEvent>();
  for (const e of events) if (e.event === "CallScheduled" && !scheduled.has(e.args.id)) scheduled.set(e.args.id, e);
  return Promise.all(
    [...scheduled.values()].map(async (e) => ({
      id: e.args.id as Hex,
      state: (await timelockStatus(stack.client, timelock, e.args.id as Hex)).state,
      blockNumber: e.blockNumber,
      txHash: e.txHash,
      from: e.from,
      proposal: proposals.find((p) => p.timelock?.operationId.toLowerCase() === e.args.id.toLowerCase())?.id,
    })),
  );
}

/** `gov audit --check`: the monitoring findings, one line each; the exit code says whether there are any. */
async function checkStack(
  stack: Stack,
  attributed: readonly AttributedEvent[],
  proposals: readonly ProposalFile[],
  limits: MonitoringLimits,
): Promise<{ text: string; exitCode: number }> {
  const g = stack.config.governance;
  const owners =
    g.mode === "direct"
      ? []
      : ((await stack.client.readContract({
          address: g.safe.address,
          abi: safeAbi,
          functionName: "getOwners",
        })) as Address[]);
  const approvals = attributed.filter((e) => e.event === "ApproveHash");
  const tracked = await Promise.all(
    proposals.map(async (proposal) => {
      const fileSigners = (await validFileSignatures(proposal, proposal.safe.owners)).map((s) => getAddress(s.signer));
      const approvers = approvals
        .filter((e) => e.args.approvedHash.toLowerCase() === proposal.safeTxHash.toLowerCase())
        .map((e) => getAddress(e.args.owner));
      return {
        proposal,
        status: await proposalStatus(stack.client, proposal),
        signers: [...new Set([...fileSigners, ...approvers])],
      };
    }),
  );
  const block = await stack.client.getBlock({ blockTag: "latest" });
  const findings = monitoringFindings({
    stack: stack.name,
    now: block.timestamp,
    events: attributed,
    proposals: tracked,
    operations: await chainOperations(stack, attributed, proposals),
    owners,
    organisations: Object.fromEntries(g.mode === "direct" ? [] : g.safe.owners.map((o) => [o.address, o.org])),
    limits,
  });
  const summary = `audit --check of stack ${stack.name} at block ${block.number}: ${findings.length ? `${findings.length} finding(s)` : "clean"}`;
  return { text: [...findings, summary].join("\n"), exitCode: findings.length ? 1 : 0 };
}

/** The governance timeline of the stack's contracts, each change attributed to a proposal or flagged. */
export async function auditStack(
  stack: Stack,
  options: AuditOptions,
): Promise<string | { text: string; exitCode: number }> {
  const fromBlock = options.fromBlock ?? BigInt(stack.config.network.startBlock ?? 0);
  const toBlock = await stack.client.getBlockNumber();
  const events = await readGovernanceEvents(stack.client, stack.config, fromBlock, toBlock);
  const chainId = stack.client.chain!.id;
  const proposals = (await listProposals(stack.root, stack.name)).filter((p) => p.chainId === chainId);
  // Direct mode sends changes from the admin key: there are no proposals to attribute them to.
  const direct = stack.config.governance.mode === "direct";
  const attributed: AttributedEvent[] = direct
    ? events.map((e) => ({ ...e, unexplained: false }))
    : attributeEvents(events, proposals, governanceAddresses(stack.config));
  const unexplained = attributed.filter((e) => e.unexplained).length;
  if (options.check) return checkStack(stack, attributed, proposals, options.check);

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
