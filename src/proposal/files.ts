import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeFunctionData, getAbiItem, type AbiFunction, type Hex } from "viem";
import { timelockAbi } from "../chain/abis";
import { crashPoint, removeStaleTempFiles, writeFilesAtomic, type WriteFilesResult } from "./atomic-write";
import { signerPacket } from "./packet";
import { buildTxBuilderBatch, txBuilderTransactionFromCall } from "./txbuilder";
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
    ...(p.timelock && p.timelock.targets.length
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
function scheduleData(p: ProposalFile): Hex {
  const t = p.timelock!;
  return encodeFunctionData({
    abi: timelockAbi,
    functionName: "scheduleBatch",
    args: [t.targets, t.values.map(BigInt), t.payloads, t.predecessor, t.salt, BigInt(t.delay)],
  });
}
function cancelData(id: Hex): Hex {
  return encodeFunctionData({ abi: timelockAbi, functionName: "cancel", args: [id] });
}

/**
 * Writes <id>.txbuilder.json, <id>.md and <id>.json, each atomically; identical reruns write
 * nothing. <id>.json is what makes a proposal exist (listProposals), so it is renamed last: a
 * crash part-way leaves no proposal, and the rerun writes the same set whole.
 */
export async function writeProposalFiles(root: string, p: ProposalFile): Promise<WriteFilesResult> {
  const dir = proposalDir(root, p.stack);
  await removeStaleTempFiles(dir);
  crashPoint("before-proposal-files");
  const result = await writeFilesAtomic([
    { path: join(dir, `${p.id}.txbuilder.json`), contents: txBuilderFile(p) },
    { path: join(dir, `${p.id}.md`), contents: signerPacket(p) },
    { path: join(dir, `${p.id}.json`), contents: json(p) },
  ]);
  crashPoint("after-proposal-files");
  return result;
}

export async function readProposal(root: string, stack: string, id: string): Promise<ProposalFile> {
  return JSON.parse(await readFile(join(proposalDir(root, stack), `${id}.json`), "utf8")) as ProposalFile;
}

/** Every proposal of a stack, oldest nonce first. */
export async function listProposals(root: string, stack: string): Promise<ProposalFile[]> {
  let names: string[];
  try {
    names = await readdir(proposalDir(root, stack));
  } catch {
    return [];
  }
  const proposals = await Promise.all(
    names
      .filter((n) => n.endsWith(".json") && !n.endsWith(".txbuilder.json"))
      .map((n) => readProposal(root, stack, n.slice(0, -5))),
  );
  return proposals.sort((a, b) => Number(BigInt(a.safe.nonce) - BigInt(b.safe.nonce)) || a.id.localeCompare(b.id));
}
