import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { getAbiItem, type AbiFunction } from "viem";
import { timelockAbi } from "../chain/abis";
import { cancelData, scheduleBatchData } from "./operation";
import { crashPoint, removeStaleTempFiles, writeFilesAtomic, type WriteFilesResult } from "./atomic-write";
import { signerPacket, type PacketContext } from "./packet";
import { buildTxBuilderBatch, txBuilderTransactionFromCall } from "./txbuilder";
import { parseProposalFile, UnreadableProposalError } from "./schema";
import type { ProposalFile } from "./types";

export function proposalDir(root: string, stack: string): string {
  return join(root, "proposals", stack);
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The Safe{Wallet} Transaction Builder view: the Safe-level calls, decoded where we know the ABI. */
function txBuilderFile(p: ProposalFile): string {
  const scheduleBatch = getAbiItem({ abi: timelockAbi, name: "scheduleBatch" }) as AbiFunction;
  const cancel = getAbiItem({ abi: timelockAbi, name: "cancel" }) as AbiFunction;
  const transactions = [
    ...(p.timelock?.cancels ?? []).map((id) =>
      txBuilderTransactionFromCall({ to: p.timelock!.address, value: 0n, data: cancelData(id), abiItem: cancel }),
    ),
    ...(p.timelock?.targets.length
      ? [
          txBuilderTransactionFromCall({
            to: p.timelock.address,
            value: 0n,
            data: scheduleData(p),
            abiItem: scheduleBatch,
          }),
        ]
      : []),
    ...p.calls
      .filter((c) => c.sender === p.safe.address)
      .map((c) => txBuilderTransactionFromCall({ to: c.to, value: 0n, data: c.data })),
  ];
  const batch = buildTxBuilderBatch({
    chainId: p.chainId,
    safeAddress: p.safe.address,
    createdAt: Date.parse(p.plannedAt),
    name: `dstack governance ${p.stack} #${p.safe.nonce}`,
    description: p.calls.map((c) => c.description).join("; "),
    transactions,
  });
  return json(batch);
}

// The scheduleBatch / cancel calldata is re-encoded from the proposal, never taken on trust.
const scheduleData = (p: ProposalFile) => scheduleBatchData(p.timelock!);

/**
 * Writes <id>.txbuilder.json, <id>.md and <id>.json, each atomically; identical reruns write
 * nothing. <id>.json is what makes a proposal exist (listProposals), so it is renamed last: a
 * crash part-way leaves no proposal, and the rerun writes the same set whole.
 */
export async function writeProposalFiles(
  root: string,
  p: ProposalFile,
  context: PacketContext = {},
): Promise<WriteFilesResult> {
  const dir = proposalDir(root, p.stack);
  await removeStaleTempFiles(dir);
  crashPoint("before-proposal-files");
  const result = await writeFilesAtomic([
    { path: join(dir, `${p.id}.txbuilder.json`), contents: txBuilderFile(p) },
    { path: join(dir, `${p.id}.md`), contents: signerPacket(p, context) },
    { path: join(dir, `${p.id}.json`), contents: json(p) },
  ]);
  crashPoint("after-proposal-files");
  return result;
}

/** Reads and validates proposals/<stack>/<id>.json; an unusable file is an UnreadableProposalError naming it. */
export async function readProposal(root: string, stack: string, id: string): Promise<ProposalFile> {
  const file = `${id}.json`;
  const proposal = parseProposalFile(file, await readFile(join(proposalDir(root, stack), file), "utf8"));
  if (proposal.id !== id) throw new UnreadableProposalError(file, `id: the file says ${proposal.id}`);
  return proposal;
}

export interface ProposalDirectory {
  /** Every readable proposal of the stack, oldest nonce first. */
  proposals: ProposalFile[];
  /** Files that are not proposals (corrupt, edited, renamed): reported, never used, never blocking the others. */
  unreadable: UnreadableProposalError[];
}

/** Every proposal file of a stack, each read on its own. */
export async function readProposalDirectory(root: string, stack: string): Promise<ProposalDirectory> {
  let names: string[];
  try {
    names = await readdir(proposalDir(root, stack));
  } catch {
    return { proposals: [], unreadable: [] };
  }
  const proposals: ProposalFile[] = [];
  const unreadable: UnreadableProposalError[] = [];
  for (const name of names.filter((n) => n.endsWith(".json") && !n.endsWith(".txbuilder.json")).sort()) {
    try {
      proposals.push(await readProposal(root, stack, name.slice(0, -5)));
    } catch (error) {
      unreadable.push(
        error instanceof UnreadableProposalError ? error : new UnreadableProposalError(name, (error as Error).message),
      );
    }
  }
  proposals.sort((a, b) => Number(BigInt(a.safe.nonce) - BigInt(b.safe.nonce)) || a.id.localeCompare(b.id));
  return { proposals, unreadable };
}

/** Every readable proposal of a stack, oldest nonce first. */
export async function listProposals(root: string, stack: string): Promise<ProposalFile[]> {
  return (await readProposalDirectory(root, stack)).proposals;
}
