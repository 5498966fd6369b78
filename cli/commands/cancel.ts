import { existsSync } from "node:fs";
import { join } from "node:path";
import { readLiveState } from "../../src/chain/read-state";
import { listProposals, proposalDir, writeProposalFiles } from "../../src/proposal/files";
import { describeStatus, proposalStatus } from "../../src/proposal/status";
import type { ProposalFile } from "../../src/proposal/types";
import { verifyProposal } from "../../src/proposal/verify";
import type { Stack } from "../../src/reconcile/reconcile";
import { buildCancelProposal, operationIdOf } from "../cancel-proposal";
import { assertSameChain } from "../stack";

const CANCELLABLE = ["scheduled", "ready", "expired"];

/** Writes a new proposal that cancels the target's queued timelock operation; it is signed and executed like any other. */
export async function proposeCancellation(stack: Stack, target: ProposalFile): Promise<string> {
  assertSameChain(stack, target);
  verifyProposal(target);
  const operation = target.timelock;
  if (!operation || operation.targets.length === 0) throw new Error(`proposal ${target.id} schedules no timelock operation: there is nothing to cancel`);
  const operationId = operationIdOf(operation);
  if (operationId !== operation.operationId.toLowerCase()) throw new Error(`proposal ${target.id} names operation ${operation.operationId}, but its batch hashes to ${operationId}; refusing it (regenerate it with pulumi up)`);
  const status = await proposalStatus(stack.client, target);
  if (!CANCELLABLE.includes(status.state)) throw new Error(`proposal ${target.id} is ${describeStatus(status)}: only a scheduled, ready or expired timelock operation can be cancelled`);

  const cancel = await buildCancelProposal(stack, await readLiveState(stack.client, stack.config), { timelock: operation.address, id: operationId });
  // Rewriting an existing file would drop the signatures collected on it.
  if (existsSync(join(proposalDir(stack.root, stack.name), `${cancel.id}.json`))) return `proposal ${cancel.id} already cancels operation ${operationId} of proposal ${target.id}`;
  await writeProposalFiles(stack.root, cancel);

  const rivals: string[] = [];
  for (const other of await listProposals(stack.root, stack.name)) {
    if (other.id === cancel.id || other.chainId !== cancel.chainId || other.safe.nonce !== cancel.safe.nonce) continue;
    if ((await proposalStatus(stack.client, other)).state === "awaiting-signatures") rivals.push(other.id);
  }
  return [
    `wrote proposal ${cancel.id}: cancels timelock operation ${operationId} of proposal ${target.id}`,
    ...(rivals.length ? [`it shares Safe nonce ${cancel.safe.nonce} with ${rivals.join(", ")}: only one of them can execute`] : []),
    `next: gov sign ${cancel.id} / gov approve ${cancel.id} until ${cancel.safe.threshold} owners signed, then gov execute ${cancel.id}`,
  ].join("\n");
}
