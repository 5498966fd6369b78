import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeFunctionData, getAbiItem, type AbiFunction, type Hex } from "viem";
import { timelockAbi } from "../chain/abis";
import { formatDuration } from "../config/duration";
import { crashPoint, removeStaleTempFiles, writeFilesAtomic, type WriteFilesResult } from "./atomic-write";
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
    ...(p.timelock?.cancels ?? []).map((id) => txBuilderTransactionFromCall({ to: p.timelock!.address, value: 0n, data: cancelData(id), abiItem: cancel })),
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
    ...p.calls.filter((c) => c.sender === p.safe.address).map((c) => txBuilderTransactionFromCall({ to: c.to, value: 0n, data: c.data })),
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
  return encodeFunctionData({ abi: timelockAbi, functionName: "scheduleBatch", args: [t.targets, t.values.map(BigInt), t.payloads, t.predecessor, t.salt, BigInt(t.delay)] });
}
function cancelData(id: Hex): Hex {
  return encodeFunctionData({ abi: timelockAbi, functionName: "cancel", args: [id] });
}

function toolExpiryWarning(window: string): string {
  return `- **Expiry is enforced by this tool, not by the contract.** The timelock is a stock OpenZeppelin TimelockController, which would still execute this operation after its ${window ? `${window} ` : ""}expiration window; \`gov execute\` and \`pulumi up\` refuse it then, and the next proposal cancels it.`;
}

/** The signer packet: what a signer must check before signing, in the order they check it. */
export function signerPacket(p: ProposalFile): string {
  const lines = [
    `# Governance proposal ${p.id} (${p.stack})`,
    "",
    p.emergency ? "**EMERGENCY REVOCATION** — removal only. It still waits out the full timelock delay; the timelock cannot be skipped.\n" : "",
    `Chain ${p.chainId}, planned at block ${p.plannedAtBlock} (${p.plannedAt}). Route: ${p.route === "safe+timelock" ? "Safe → timelock" : "Safe"}.`,
    "",
    "## What changes",
    "",
    ...p.calls.map((c, i) => `${i + 1}. ${c.description}\n   - \`${c.signature}\` on \`${c.to}\`, sent by \`${c.sender}\`\n   - args: ${c.args.map((a) => `\`${a}\``).join(", ") || "none"}`),
    "",
    `## What your wallet shows (Safe v${p.safe.version ?? "1.4.1"}, EIP-712)`,
    "",
    `- Safe: \`${p.safe.address}\` (${p.safe.threshold} of ${p.safe.owners.length}), nonce **${p.safe.nonce}**`,
    `- Domain hash: \`${p.eip712.domainHash}\``,
    `- Message hash: \`${p.eip712.messageHash}\``,
    `- Safe tx hash: \`${p.safeTxHash}\``,
    `- to \`${p.safeTx.to}\`, value ${p.safeTx.value}, operation ${p.safeTx.operation === 1 ? "1 (DELEGATECALL to MultiSendCallOnly)" : "0 (CALL)"}`,
    `- data: \`${p.safeTx.data}\``,
    "",
  ];
  if (p.timelock) {
    const t = p.timelock;
    lines.push(
      "## Timelock",
      "",
      `- Timelock: \`${t.address}\``,
      ...(t.targets.length ? [`- Operation id: \`${t.operationId}\``, `- Salt: \`${t.salt}\`, predecessor \`${t.predecessor}\``, `- Delay: ${formatDuration(BigInt(t.delay))}: executable no earlier than ${formatDuration(BigInt(t.delay))} after the Safe transaction executes, and only until the expiration window closes`] : []),
      ...t.cancels.map((id) => `- Cancels stale operation \`${id}\``),
      ...(t.targets.length && t.expiryEnforcedBy === "tool" ? [toolExpiryWarning(formatDuration(BigInt(t.expiration ?? "0")))] : []),
      "",
    );
  }
  if (p.executes) {
    const e = p.executes;
    lines.push(
      "## Executes a ready timelock operation",
      "",
      `- Runs operation \`${e.operationId}\` of proposal ${e.proposalId} in timelock \`${e.timelock}\`: the Safe holds the executor role, so the batch runs only through a Safe transaction.`,
      `- Expires at ${new Date(Number(e.expiresAt) * 1000).toISOString()}; after that this proposal is refused.`,
      ...(e.expiryEnforcedBy === "tool" ? [toolExpiryWarning("")] : []),
      "",
    );
  }
  if (p.overrides?.length) {
    lines.push("## Policy overrides", "", "This proposal relies on the stack overriding the recommended configuration:", "", ...p.overrides.map((o) => `- \`${o.rule}\`: ${o.reason}`), "");
  }
  if (p.convergence) {
    lines.push("## Convergence proof", "", `Forked at block ${p.convergence.forkedAtBlock} and ran this proposal to the end → empty plan:`, "", ...p.convergence.steps.map((step) => `- ${step}`), "");
  }
  lines.push("## State after execution", "", ...p.calls.map((c) => `- ${c.description}`), "", `Signatures so far: ${p.signatures.length} of ${p.safe.threshold}${p.signatures.length ? ` (${p.signatures.map((s) => s.signer).join(", ")})` : ""}.`, "");
  return lines.filter((line, i, all) => !(line === "" && all[i - 1] === "")).join("\n");
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
  const proposals = await Promise.all(names.filter((n) => n.endsWith(".json") && !n.endsWith(".txbuilder.json")).map((n) => readProposal(root, stack, n.slice(0, -5))));
  return proposals.sort((a, b) => Number(BigInt(a.safe.nonce) - BigInt(b.safe.nonce)) || a.id.localeCompare(b.id));
}
