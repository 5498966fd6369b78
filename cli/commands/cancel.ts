import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildProposal } from "../../src/proposal/build";
import { listProposals, proposalDir, writeProposalFiles } from "../../src/proposal/files";
import { describeStatus, proposalStatus } from "../../src/proposal/status";
import type { ProposalFile } from "../../src/proposal/types";
import { verifyProposalFile } from "../../src/proposal/verify";
import { readStackState } from "../../src/reconcile/read-stack";
import type { Stack } from "../../src/reconcile/stack";
import { assertSameChain } from "../stack";

const CANCELLABLE = ["scheduled", "ready", "expired"];

/** Writes a new proposal that cancels the target's queued timelock operation; it is signed and executed like any other. */
export async function proposeCancellation(stack: Stack, target: ProposalFile): Promise<string> {
  assertSameChain(stack, target);
  await verifyProposalFile(stack.client, stack.config, target, stack.scans);
  const operation = target.timelock;
  if (!operation || operation.targets.length === 0)
    throw new Error(`proposal ${target.id} schedules no timelock operation: there is nothing to cancel`);
  // verifyProposalFile checked that the operation id is the hash of the batch the signers approved.
  const operationId = operation.operationId;
  const status = await proposalStatus(stack.client, target);
  if (!CANCELLABLE.includes(status.state))
    throw new Error(
      `proposal ${target.id} is ${describeStatus(status)}: only a scheduled, ready or expired timelock operation can be cancelled`,
    );

  const live = await readStackState(stack);
  if (live.timelock?.address !== operation.address)
    throw new Error(
      `operation ${operationId} is queued in timelock ${operation.address}, not in this stack's timelock ${live.timelock?.address ?? "(none)"}`,
    );
  // A cancel-only proposal: no calls of its own, at the Safe's next nonce, simulated before it is written.
  const cancel = await buildProposal({
    stack: stack.name,
    config: stack.config,
    live,
    calls: [],
    client: stack.client,
    cancels: [operationId],
    cancelledProposals: [target],
  });
  // Rewriting an existing file would drop the signatures collected on it.
  if (existsSync(join(proposalDir(stack.root, stack.name), `${cancel.id}.json`)))
    return `proposal ${cancel.id} already cancels operation ${operationId} of proposal ${target.id}`;
  await writeProposalFiles(stack.root, cancel);

  const rivals: string[] = [];
  for (const other of await listProposals(stack.root, stack.name)) {
    if (other.id === cancel.id || other.chainId !== cancel.chainId || other.safe.nonce !== cancel.safe.nonce) continue;
    if ((await proposalStatus(stack.client, other)).state === "awaiting-signatures") rivals.push(other.id);
  }
  return [
    `wrote proposal ${cancel.id}: cancels timelock operation ${operationId} of proposal ${target.id}`,
    ...(rivals.length
      ? [`it shares Safe nonce ${cancel.safe.nonce} with ${rivals.join(", ")}: only one of them can execute`]
      : []),
    `next: gov sign ${cancel.id} / gov approve ${cancel.id} until ${cancel.safe.threshold} owners signed, then gov execute ${cancel.id}`,
  ].join("\n");
}
