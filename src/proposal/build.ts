import { zeroHash, type Address, type Hex, type PublicClient } from "viem";
import type { LiveState } from "../chain/read-state";
import type { StackConfig } from "../config/schema";
import type { PlannedCall } from "../plan/types";
import { contractLabels, describeCall, type ContractLabel } from "./describe";
import { cancelData, hashOperationBatch, operationSalt, scheduleBatchData } from "./operation";
import { createSafeTransaction, type SafeCall } from "./safe-tx";
import { simulateCall, simulateSafeTransaction } from "./simulate";
import { callChanges, expectedState } from "./effects";
import type { CancelledOperation, DecodedCall, ProposalFile, TimelockOperation } from "./types";

export interface BuildProposalInput {
  stack: string;
  config: StackConfig;
  live: LiveState;
  calls: PlannedCall[];
  client: PublicClient;
  /** Reuse the nonce of an unexecuted proposal this one supersedes; default: the Safe's next nonce. */
  nonce?: bigint;
  /** Scheduled operations of stale proposals to cancel in the same Safe transaction. */
  cancels?: Hex[];
  /** The local proposals that scheduled them: the packet names what each cancel cancels. */
  cancelledProposals?: readonly ProposalFile[];
  proposerKey?: Hex;
}

/** What each cancelled operation was, and whether this proposal schedules all of its calls again. */
function describeCancels(
  cancels: readonly Hex[],
  proposals: readonly ProposalFile[],
  byTimelock: readonly PlannedCall[],
): CancelledOperation[] {
  return cancels.map((operationId) => {
    const source = proposals.find((p) => p.timelock?.operationId === operationId);
    const cancelledCalls = source ? source.calls.filter((c) => c.sender === source.timelock!.address) : [];
    const rescheduled =
      cancelledCalls.length > 0 &&
      cancelledCalls.every((c) => byTimelock.some((n) => n.to === c.to && n.data === c.data));
    return {
      operationId,
      ...(source ? { proposal: source.id } : {}),
      calls: cancelledCalls.map((c) => c.description),
      rescheduled,
    };
  });
}

/** The function the config's `upgradeCall` names for this call's proxy: what decodes its upgrade data. */
function upgradeCallSignature(config: StackConfig, call: PlannedCall): string | undefined {
  if (call.functionName !== "upgradeToAndCall") return undefined;
  const proxy = call.resource === "kms" ? config.kms : config.apps.find((a) => `app:${a.name}` === call.resource);
  return proxy?.upgradeCall?.function;
}

/** The file's text for a call is recomputed from its calldata, exactly as every read checks it. */
function fileCall(call: PlannedCall, labels: ReadonlyMap<Address, ContractLabel>, config: StackConfig): DecodedCall {
  const text = describeCall(call, labels, upgradeCallSignature(config, call));
  return {
    resource: text.resource,
    property: call.property,
    description: text.description,
    to: call.to,
    sender: call.sender,
    functionName: text.functionName,
    signature: text.signature,
    args: text.args,
    data: call.data,
    revokes: text.revokes,
    ...(text.upgradeCall ? { upgradeCall: text.upgradeCall } : {}),
  };
}

/**
 * Planned calls → one Safe transaction. Calls the timelock must make are wrapped in one
 * scheduleBatch (with the timelock's own delay: never shorter); calls the Safe makes itself
 * (signer changes) go in the same Safe transaction. Everything is simulated before it is returned.
 */
export async function buildProposal(input: BuildProposalInput): Promise<ProposalFile> {
  const { config, live, calls } = input;
  if (config.governance.mode === "direct" || !live.safe)
    throw new Error("buildProposal: direct mode sends transactions, it has no proposals");
  const safe = live.safe;
  const timelock = live.timelock;
  for (const call of calls) {
    if (call.sender !== safe.address && call.sender !== timelock?.address) {
      throw new Error(
        `${call.description}: must be sent by ${call.sender}, which is neither this stack's Safe nor its timelock; fix the contract's owner or the governance addresses`,
      );
    }
  }
  const byTimelock = calls.filter((c) => c.sender === timelock?.address);
  const bySafe = calls.filter((c) => c.sender === safe.address);
  const nonce = input.nonce ?? safe.nonce;

  // Safe changes the timelock makes as a module build on each other (and may need the module this
  // proposal enables): they are simulated in order, as the Safe making them itself.
  const throughModule = byTimelock.filter((c) => c.to === safe.address);
  for (const call of byTimelock.filter((c) => !throughModule.includes(c)))
    await simulateCall(input.client, call, live.blockNumber);
  if (throughModule.length) {
    const steps = throughModule.map((c) => ({ to: safe.address, value: 0n, data: c.args[2] as Hex }));
    const { safeTx } = await createSafeTransaction({
      client: input.client,
      chainId: live.chainId,
      safe: safe.address,
      version: safe.version,
      nonce: safe.nonce,
      calls: steps,
    });
    await simulateSafeTransaction(input.client, safe.address, safeTx, live.blockNumber, safe.version);
  }

  const safeCalls: SafeCall[] = [];
  let operation: TimelockOperation | undefined;
  const cancels = input.cancels ?? [];
  if (timelock && (byTimelock.length || cancels.length)) {
    for (const id of cancels) {
      safeCalls.push({
        to: timelock.address,
        value: 0n,
        data: cancelData(id),
      });
    }
    const targets = byTimelock.map((c) => c.to);
    const values = byTimelock.map((c) => c.value);
    const payloads = byTimelock.map((c) => c.data);
    // A cancel-only proposal schedules nothing: its operation id and salt stay zero.
    const salt = byTimelock.length ? operationSalt(safe.address, nonce) : zeroHash;
    if (byTimelock.length) {
      safeCalls.push({
        to: timelock.address,
        value: 0n,
        data: scheduleBatchData({ targets, values, payloads, predecessor: zeroHash, salt, delay: timelock.delay }),
      });
    }
    operation = {
      address: timelock.address,
      operationId: byTimelock.length ? hashOperationBatch(targets, values, payloads, zeroHash, salt) : zeroHash,
      salt,
      predecessor: zeroHash,
      delay: timelock.delay.toString(),
      targets,
      values: values.map(String),
      payloads,
      cancels,
      // A stock TimelockController would run the batch at any time after the delay: the expiry is this tool's.
      ...(timelock.kind === "openzeppelin" && config.governance.mode === "safe+timelock"
        ? { expiryEnforcedBy: "tool" as const, expiration: config.governance.timelock.expiration.toString() }
        : {}),
      ...(cancels.length ? { cancelled: describeCancels(cancels, input.cancelledProposals ?? [], byTimelock) } : {}),
    };
  }
  safeCalls.push(...bySafe.map((c) => ({ to: c.to, value: c.value, data: c.data })));

  const created = await createSafeTransaction({
    client: input.client,
    chainId: live.chainId,
    safe: safe.address,
    version: safe.version,
    nonce,
    calls: safeCalls,
    signerKey: input.proposerKey,
  });
  // Only the Safe's next nonce can be simulated; a proposal queued behind another is checked when it is next.
  if (nonce === safe.nonce)
    await simulateSafeTransaction(input.client, safe.address, created.safeTx, live.blockNumber, safe.version);

  const labels = contractLabels(config);
  const changes = callChanges(live, calls);
  const decoded = calls.map((call, i) => ({
    ...fileCall(call, labels, config),
    ...(changes[i] ? { change: changes[i] } : {}),
  }));
  const organisations = Object.fromEntries(config.governance.safe.owners.map((o) => [o.address, o.org]));
  return {
    format: "dstack-governance-proposal/1",
    id: `${nonce}-${created.safeTxHash.slice(2, 10)}`,
    stack: input.stack,
    chainId: live.chainId,
    route: operation ? "safe+timelock" : "safe",
    plannedAtBlock: live.blockNumber.toString(),
    plannedAt: new Date(Number(live.blockTimestamp) * 1000).toISOString(),
    emergency: decoded.length > 0 && decoded.every((c) => c.revokes),
    safe: {
      address: safe.address,
      version: safe.version,
      nonce: nonce.toString(),
      threshold: safe.threshold,
      owners: safe.owners,
    },
    safeTx: created.safeTx,
    safeTxHash: created.safeTxHash,
    eip712: { domainHash: created.domainHash, messageHash: created.messageHash },
    timelock: operation,
    calls: decoded,
    signatures: created.signatures,
    organisations,
    expectedState: expectedState(live, calls),
  };
}
