import { existsSync } from "node:fs";
import { join } from "node:path";
import { readStackFile } from "../src/config/stack-file";
import { listProposals, proposalDir, readProposal } from "../src/proposal/files";
import { proposalStatus } from "../src/proposal/status";
import type { ProposalFile } from "../src/proposal/types";
import { executionsOfProposals } from "../src/reconcile/proposal-executions";
import type { TrackedProposal } from "../src/reconcile/reconcile";
import { openStack, type Stack } from "../src/reconcile/stack";

/** Where a stack lives: Pulumi.<name>.yaml and proposals/<name>/ under root. */
export interface StackLocation {
  name: string;
  root: string;
}

/** Reads and validates Pulumi.<stack>.yaml and connects to its chain. */
export function loadStack(location: StackLocation): Promise<Stack> {
  const onNotice = (message: string) => void process.stderr.write(`gov: ${message}\n`);
  return openStack({
    name: location.name,
    root: location.root,
    rawConfig: readStackFile(location.root, location.name),
    onNotice,
  });
}

/** A proposal file of the stack by id; the id must name a file in proposals/<stack>/, nothing else. */
export async function loadProposal(location: StackLocation, id: string): Promise<ProposalFile> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) throw new Error(`"${id}" is not a proposal id (gov status lists them)`);
  const dir = proposalDir(location.root, location.name);
  if (!existsSync(join(dir, `${id}.json`))) throw new Error(`no proposal ${id} in ${dir} (gov status lists them)`);
  const proposal = await readProposal(location.root, location.name, id);
  if (proposal.stack !== location.name)
    throw new Error(`proposal ${id} belongs to stack "${proposal.stack}", not "${location.name}"`);
  return proposal;
}

/** A proposal must be for the chain the stack is connected to: never approve or execute across chains. */
export function assertSameChain(stack: Stack, proposal: ProposalFile): void {
  const chainId = stack.client.chain!.id;
  if (proposal.chainId !== chainId)
    throw new Error(
      `proposal ${proposal.id} is for chain ${proposal.chainId}, but stack ${stack.name} is on chain ${chainId}`,
    );
}

/** The stack's readable proposals on this chain with their on-chain status (for what a packet says of the others). */
export async function trackedProposals(stack: Stack): Promise<TrackedProposal[]> {
  const chainId = stack.client.chain!.id;
  const proposals = (await listProposals(stack.root, stack.name)).filter((p) => p.chainId === chainId);
  // Every status at one block, the Safe's executions scanned once for all of them.
  const head = await stack.client.getBlock({ blockTag: "latest" });
  const executions = await executionsOfProposals(stack, proposals, { number: head.number, hash: head.hash });
  return Promise.all(
    proposals.map(async (proposal) => ({
      proposal,
      status: await proposalStatus(stack.client, proposal, head.number, executions),
    })),
  );
}
