import { getAddress, type Address, type Hex } from "viem";
import type { ProposalStatus } from "../src/proposal/status";
import type { ProposalFile } from "../src/proposal/types";
import type { AttributedEvent } from "./attribution";

/** The alert thresholds; the defaults are the seed's monitoring notes. */
export interface MonitoringLimits {
  /** Most operations queued in the timelock at once. */
  maxQueued: number;
  /** Oldest a proposal may wait for signatures, in seconds. */
  maxPendingAge: bigint;
  /** Lowest share of recent proposals each current signer must have signed, 0..1. */
  minParticipation: number;
  /** How many recent proposals participation is measured over. */
  participationWindow: number;
}

export const DEFAULT_LIMITS: MonitoringLimits = {
  maxQueued: 3,
  maxPendingAge: 24n * 3600n,
  minParticipation: 0.8,
  participationWindow: 10,
};

/** A timelock operation seen on chain (CallScheduled), with its state now. */
export interface ChainOperation {
  id: Hex;
  state: ProposalStatus["state"];
  blockNumber: bigint;
  txHash: Hex;
  from: Address;
  /** The local proposal that scheduled it, if its file is here. */
  proposal?: string;
}

export interface MonitoringInput {
  stack: string;
  now: bigint;
  events: readonly AttributedEvent[];
  proposals: readonly { proposal: ProposalFile; status: ProposalStatus; signers: readonly Address[] }[];
  operations: readonly ChainOperation[];
  owners: readonly Address[];
  organisations: Record<string, string>;
  limits: MonitoringLimits;
}

const hours = (seconds: bigint) => `${(Number(seconds) / 3600).toFixed(1)} h`;

/** One line per finding; none on a healthy stack. */
export function monitoringFindings(input: MonitoringInput): string[] {
  const { limits } = input;
  const findings: string[] = [];
  for (const e of input.events.filter((e) => e.unexplained)) {
    findings.push(
      `UNEXPLAINED ${e.contract} ${e.event}(${Object.entries(e.args)
        .map(([k, v]) => `${k}=${v}`)
        .join(
          ", ",
        )}) at block ${e.blockNumber}, tx ${e.txHash} from ${e.from}: no proposal in proposals/${input.stack}/ made it`,
    );
  }
  const pending = input.operations.filter((o) => o.state === "scheduled" || o.state === "ready");
  for (const o of pending.filter((o) => !o.proposal)) {
    findings.push(
      `FOREIGN OPERATION ${o.id} is ${o.state} in the timelock, scheduled at block ${o.blockNumber} (tx ${o.txHash} from ${o.from}) by no proposal in proposals/${input.stack}/: restore its file from git, or cancel it (gov cancel)`,
    );
  }
  for (const { proposal, status } of input.proposals) {
    const age = input.now - BigInt(Math.floor(Date.parse(proposal.plannedAt) / 1000));
    if (status.state === "awaiting-signatures" && age > limits.maxPendingAge) {
      findings.push(
        `STALE PROPOSAL ${proposal.id} has waited ${hours(age)} for signatures (${status.have} of ${status.need}), more than ${hours(limits.maxPendingAge)}`,
      );
    }
  }
  // Participation over the last proposals whose Safe transaction ran: each signer should take part.
  const decided = input.proposals
    .filter((t) => t.status.state !== "awaiting-signatures" && t.status.state !== "superseded")
    .slice(-limits.participationWindow);
  for (const owner of input.owners.map((o) => getAddress(o))) {
    const eligible = decided.filter((t) => t.proposal.safe.owners.map((o) => getAddress(o)).includes(owner));
    if (eligible.length === 0) continue;
    const signed = eligible.filter((t) => t.signers.map((s) => getAddress(s)).includes(owner)).length;
    if (signed / eligible.length < limits.minParticipation) {
      const org = input.organisations[owner] ? ` (${input.organisations[owner]})` : "";
      findings.push(
        `LOW PARTICIPATION signer ${owner}${org} signed ${signed} of the last ${eligible.length} proposals (${Math.round((100 * signed) / eligible.length)}% < ${Math.round(100 * limits.minParticipation)}%)`,
      );
    }
  }
  if (pending.length > limits.maxQueued) {
    findings.push(
      `QUEUE ${pending.length} operations are queued in the timelock, more than ${limits.maxQueued}: ${pending.map((o) => o.id).join(", ")}`,
    );
  }
  return findings;
}
