import { keccak256, zeroAddress, type Address, type Hex } from "viem";
import { canonicalSafeContracts } from "../chain/safe-deployments";
import { formatDuration } from "../config/duration";
import { decodeCallData, governancePartOf, type GovernancePart } from "../plan/changes";
import type { DecodedCall, ProposalFile } from "./types";

/** A hash as a Ledger shows it when blind-signing: 0x, then upper-case hex. */
export function ledgerHex(hash: string): string {
  return `0x${hash.slice(2).toUpperCase()}`;
}

/** How the packet names each part of governance a call alters. */
const GOVERNANCE_WARNINGS: Record<GovernancePart, string> = {
  signers: "Safe signer/threshold change",
  timelock: "Timelock role/delay change",
  ownership: "Ownership transfer",
  upgrade: "Upgrade",
};

/** The calls a signer must look at twice, one line each, with when they take effect. */
function warnings(p: ProposalFile): string[] {
  const lines: string[] = [];
  const when = (c: DecodedCall) =>
    c.sender === p.safe.address
      ? "takes effect IMMEDIATELY when the Safe transaction executes, without the timelock delay"
      : "runs through the timelock, after the delay";
  for (const c of p.calls) {
    // The same decoding verify replays the call with; a call it cannot type is none this tool plans.
    const change = decodeCallData(c.data);
    const kind = change ? governancePartOf(change) : undefined;
    if (!change) lines.push(`> - **A call this tool does not plan**: ${c.description} (${when(c)})`);
    else if (kind) lines.push(`> - **${GOVERNANCE_WARNINGS[kind]}**: ${c.description} (${when(c)})`);
  }
  const t = p.safeTx;
  if (t.gasPrice !== "0" || t.gasToken !== zeroAddress || t.refundReceiver !== zeroAddress) {
    lines.push(
      `> - **Gas refund**: gasPrice ${t.gasPrice}, gasToken ${t.gasToken}, refundReceiver ${t.refundReceiver}: the Safe pays the executor; this tool never sets these`,
    );
  }
  for (const c of p.timelock?.cancelled ?? [])
    if (!c.rescheduled && c.calls.length)
      lines.push(
        `> - **Cancels** operation ${c.operationId}${c.proposal ? ` (proposal ${c.proposal})` : ""} without scheduling its calls again`,
      );
  return lines.length
    ? ["> **WARNING** — this proposal contains changes to governance itself:", ">", ...lines, ""]
    : [];
}

function callLines(c: DecodedCall, index: number, org: (a: string) => string): string[] {
  return [
    `${index}. ${c.description}`,
    `   - \`${c.signature}\` on \`${c.to}\`, sent by ${org(c.sender)}`,
    `   - args: ${c.args.map((a) => `\`${a}\``).join(", ") || "none"}`,
    ...(c.upgradeCall
      ? [`   - the data calls \`${c.upgradeCall}\` in the proxy, with the new code (decoded above)`]
      : []),
    ...(c.change ? [`   - before → after: ${c.change}`] : []),
  ];
}

/** An address in backticks, with its signer organisation when the stack names one. */
function orgLabel(p: ProposalFile): (address: string) => string {
  return (address) => (p.organisations?.[address] ? `\`${address}\` (${p.organisations[address]})` : `\`${address}\``);
}

function expectedStateLines(p: ProposalFile): string[] {
  const s = p.expectedState;
  if (!s) return ["- (not shown: not recorded, or the chain state it was planned at cannot be read to check it)"];
  const withOrg = (a: Address) => (p.organisations?.[a] ? `${a} (${p.organisations[a]})` : a);
  const lines: string[] = [];
  if (s.safe)
    lines.push(
      `- Safe \`${p.safe.address}\`: threshold **${s.safe.threshold} of ${s.safe.owners.length}**, owners:`,
      ...s.safe.owners.map((o) => `  - ${withOrg(o)}`),
    );
  if (s.timelock && p.timelock)
    lines.push(
      `- Timelock \`${p.timelock.address}\`: delay **${formatDuration(BigInt(s.timelock.delay))}**, expiration window ${p.timelock.expiryEnforcedBy === "tool" ? `${formatDuration(BigInt(p.timelock.expiration ?? "0"))} (enforced by this tool, not by the contract)` : formatDuration(BigInt(s.timelock.expiration))}`,
    );
  lines.push(`- KMS OS images (${s.osImages.length}):`, ...s.osImages.map((h) => `  - \`${h}\``));
  for (const [name, hashes] of Object.entries(s.composeHashes))
    lines.push(`- App ${name} compose hashes (${hashes.length}):`, ...hashes.map((h) => `  - \`${h}\``));
  for (const [resource, owner] of Object.entries(s.owners))
    lines.push(`- ${resource} owner \`${owner}\`, implementation \`${s.implementations[resource] ?? "?"}\``);
  return lines;
}

/** What the packet shows beside the file, read from the chain and the other proposals when it is rendered. */
export interface PacketContext {
  /** The Safe's owners and threshold on chain; default: the file's (checked against the chain on every read). */
  safe?: { owners: readonly Address[]; threshold: number };
  /** Operations of other proposals queued in the timelock that this proposal leaves in place. */
  leavesQueued?: { operationId: Hex; proposalId: string }[];
}

/**
 * The signer packet: what a signer checks before signing, in the order they check it. Every
 * field the Safe signs is printed, so the three hashes can be recomputed from this text alone.
 */
export function signerPacket(p: ProposalFile, context: PacketContext = {}): string {
  const t = p.safeTx;
  const safe = context.safe ?? p.safe;
  const org = orgLabel(p);
  const timelock = p.timelock;
  const bySafe = p.calls.filter((c) => c.sender === p.safe.address);
  const byTimelock = p.calls.filter((c) => timelock && c.sender === timelock.address);
  const immediate: string[] = [];
  let n = 0;
  for (const c of timelock?.cancelled ??
    timelock?.cancels.map((operationId) => ({ operationId, calls: [], rescheduled: false })) ??
    []) {
    const what = "proposal" in c && c.proposal ? `proposal ${c.proposal}` : "an operation with no local proposal file";
    immediate.push(
      `${++n}. \`cancel(bytes32)\` on the timelock \`${timelock!.address}\`: cancels operation \`${c.operationId}\` (${what})`,
      ...c.calls.map((d) => `   - cancelled: ${d}`),
      `   - re-scheduled by this proposal: ${c.calls.length === 0 ? "unknown (its calls are not in a local file)" : c.rescheduled ? "yes, every call is in the batch below" : "NO"}`,
    );
  }
  if (timelock && byTimelock.length) {
    immediate.push(
      `${++n}. \`scheduleBatch(address[],uint256[],bytes[],bytes32,bytes32,uint256)\` on the timelock \`${timelock.address}\`: queues operation \`${timelock.operationId}\` (${byTimelock.length} call(s), listed below)`,
      `   - predecessor \`${timelock.predecessor}\`, salt \`${timelock.salt}\`, delay ${timelock.delay} s (${formatDuration(BigInt(timelock.delay))})`,
    );
  }
  for (const c of bySafe) immediate.push(...callLines(c, ++n, org));

  const lines = [
    `# Governance proposal ${p.id} (${p.stack})`,
    "",
    ...warnings(p),
    p.emergency
      ? "**EMERGENCY REVOCATION** — removal only. It still waits out the full timelock delay; the timelock cannot be skipped.\n"
      : "",
    `Chain ${p.chainId}, planned at block ${p.plannedAtBlock} (${p.plannedAt}). Route: ${p.route === "safe+timelock" ? "Safe → timelock" : "Safe"}.`,
    "",
    "## What your hardware wallet shows",
    "",
    "A Ledger shows the domain and message hashes in upper case; check them character by character.",
    "",
    `- Domain hash: \`${ledgerHex(p.eip712.domainHash)}\``,
    `- Message hash: \`${ledgerHex(p.eip712.messageHash)}\``,
    `- Safe tx hash: \`${ledgerHex(p.safeTxHash)}\``,
    "",
    "## The Safe transaction (every field that is signed)",
    "",
    `- chainId: \`${p.chainId}\``,
    `- verifyingContract (Safe): \`${p.safe.address}\``,
    `- to: \`${t.to}\`${t.operation === 1 && t.to === canonicalSafeContracts.multiSendCallOnly ? " (MultiSendCallOnly 1.4.1)" : ""}`,
    `- value: \`${t.value}\``,
    `- data: \`${t.data}\``,
    `- keccak256(data): \`${keccak256(t.data)}\``,
    `- operation: \`${t.operation}\` (${t.operation === 1 ? "DELEGATECALL to MultiSendCallOnly: a batch of plain calls" : "CALL"})`,
    `- safeTxGas: \`${t.safeTxGas}\``,
    `- baseGas: \`${t.baseGas}\``,
    `- gasPrice: \`${t.gasPrice}\``,
    `- gasToken: \`${t.gasToken}\``,
    `- refundReceiver: \`${t.refundReceiver}\``,
    `- nonce: \`${t.nonce}\``,
    "",
    t.gasPrice === "0" && t.refundReceiver === zeroAddress
      ? "gasPrice 0 and no refund receiver: executing it pays nobody a gas refund."
      : "THIS TRANSACTION PAYS A GAS REFUND (see WARNING).",
    "",
    "## Calls, in execution order",
    "",
    "### When the Safe transaction executes (immediately)",
    "",
    ...immediate,
    "",
  ];
  if (timelock && byTimelock.length) {
    lines.push(
      `### After the delay: \`executeBatch\` of operation \`${timelock.operationId}\``,
      "",
      `Executable no earlier than ${formatDuration(BigInt(timelock.delay))} after the Safe transaction executes, and only until the expiration window closes.`,
      ...(timelock.expiryEnforcedBy === "tool"
        ? ["", toolExpiryWarning(formatDuration(BigInt(timelock.expiration ?? "0")))]
        : []),
      "",
      ...byTimelock.flatMap((c, i) => callLines(c, i + 1, org)),
      "",
    );
  }
  if (context.leavesQueued?.length) {
    lines.push(
      "## Already queued",
      "",
      ...context.leavesQueued.map(
        (q) =>
          `- Leaves operation \`${q.operationId}\` of proposal ${q.proposalId} queued: it carries changes this proposal does not repeat`,
      ),
      "",
    );
  }
  lines.push(
    "## Signers",
    "",
    `Safe \`${p.safe.address}\`: ${safe.threshold} of ${safe.owners.length} signatures needed (${context.safe ? "owners on chain now" : "owners when planned"}).`,
    "",
    ...safe.owners.map((o) => `- ${org(o)}${p.signatures.some((s) => s.signer === o) ? ": signed" : ""}`),
    "",
    `Signatures so far: ${p.signatures.length} of ${safe.threshold}${p.signatures.length ? ` (${p.signatures.map((s) => s.signer).join(", ")})` : ""}.`,
    "",
  );
  if (p.overrides?.length) {
    lines.push(
      "## Policy overrides",
      "",
      "This proposal relies on the stack overriding the recommended configuration:",
      "",
      ...p.overrides.map((o) => `- \`${o.rule}\`: ${o.reason}`),
      "",
    );
  }
  if (p.convergence) {
    lines.push(
      "## Convergence proof",
      "",
      `Forked at block ${p.convergence.forkedAtBlock} and ran this proposal to the end → empty plan:`,
      "",
      ...p.convergence.steps.map((step) => `- ${step}`),
      "",
    );
  }
  if (p.executes) {
    const e = p.executes;
    lines.push(
      "## Executes a ready timelock operation",
      "",
      `Runs operation \`${e.operationId}\` of proposal ${e.proposalId} in timelock \`${e.timelock}\`: the Safe holds the executor role, so the batch runs only through a Safe transaction. Refused after ${new Date(Number(e.expiresAt) * 1000).toISOString()}.`,
      ...(e.expiryEnforcedBy === "tool" ? ["", toolExpiryWarning("")] : []),
      "",
    );
  }
  lines.push("## Expected state after execution", "", ...expectedStateLines(p), "");
  return lines.filter((line, i, all) => !(line === "" && all[i - 1] === "")).join("\n");
}

/** A stock TimelockController has no expiry of its own: the packet says who refuses a late execution. */
export function toolExpiryWarning(window: string): string {
  return `**Expiry is enforced by this tool, not by the contract.** The timelock is a stock OpenZeppelin TimelockController, which would still execute this operation after its ${window ? `${window} ` : ""}expiration window; \`gov execute\` and \`pulumi up\` refuse it then, and the next proposal cancels it.`;
}
