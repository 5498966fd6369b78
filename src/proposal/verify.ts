import { isDeepStrictEqual } from "node:util";
import {
  concatHex,
  encodeFunctionData,
  encodePacked,
  getAddress,
  size,
  zeroHash,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { multiSendCallOnlyAbi, safeAbi } from "../chain/abis";
import type { StackConfig } from "../config/schema";
import type { ScanOptions } from "../chain/candidates";
import { readLiveState, type LiveState } from "../chain/read-state";
import type { PlannedCall, ResourceKey } from "../plan/types";
import { decodeCallData } from "../plan/changes";
import { contractLabels, describeCall, type ContractLabel } from "./describe";
import { callChanges, expectedState } from "./effects";
import { canonicalSafeContractsByVersion, SAFE_VERSION } from "../chain/safe-deployments";
import { cancelData, hashOperationBatch, scheduleBatchData } from "./operation";
import { safeTxHashes } from "./safe-tx";
import type { ProposalFile } from "./types";

/** MultiSendCallOnly's packed encoding: per call operation(0) ‖ to ‖ value ‖ length ‖ data. */
export function encodeMultiSendCalls(calls: readonly { to: Hex; value: bigint; data: Hex }[]): Hex {
  const packed = concatHex(
    calls.map((c) =>
      encodePacked(
        ["uint8", "address", "uint256", "uint256", "bytes"],
        [0, c.to, c.value, BigInt(size(c.data)), c.data],
      ),
    ),
  );
  return encodeFunctionData({ abi: multiSendCallOnlyAbi, functionName: "multiSend", args: [packed] });
}

/**
 * Rebuilds the Safe transaction from the proposal's decoded calls and checks that it is exactly
 * the one whose hash signers sign. A file edited after it was written fails here.
 */
export function verifyProposal(p: ProposalFile): void {
  const fail = (why: string) => {
    throw new Error(`proposal ${p.id} does not match its calls: ${why}; refusing it (regenerate it with pulumi up)`);
  };
  const safe = getAddress(p.safe.address);
  const timelock = p.timelock;
  const byTimelock = p.calls.filter((c) => timelock && getAddress(c.sender) === getAddress(timelock.address));
  const bySafe = p.calls.filter((c) => getAddress(c.sender) === safe);
  if (byTimelock.length + bySafe.length !== p.calls.length) fail("a call is sent by neither the Safe nor the timelock");
  const inner: { to: Hex; value: bigint; data: Hex }[] = [];
  if (timelock) {
    if (byTimelock.length !== timelock.targets.length) fail("the timelock batch has a different number of calls");
    byTimelock.forEach((c, i) => {
      if (
        getAddress(c.to) !== getAddress(timelock.targets[i]) ||
        c.data !== timelock.payloads[i] ||
        timelock.values[i] !== "0"
      )
        fail(`timelock call ${i} differs from "${c.description}"`);
    });
    const expectedId = timelock.targets.length
      ? hashOperationBatch(
          timelock.targets,
          timelock.values.map(BigInt),
          timelock.payloads,
          timelock.predecessor,
          timelock.salt,
        )
      : zeroHash;
    if (timelock.operationId !== expectedId) fail("the timelock operation id is not the hash of its batch");
    for (const id of timelock.cancels)
      inner.push({
        to: timelock.address,
        value: 0n,
        data: cancelData(id),
      });
    if (timelock.targets.length) {
      inner.push({
        to: timelock.address,
        value: 0n,
        data: scheduleBatchData(timelock),
      });
    }
  }
  inner.push(...bySafe.map((c) => ({ to: c.to as Hex, value: 0n, data: c.data })));
  if (inner.length === 0) fail("it has no calls");
  const expected =
    inner.length === 1
      ? { to: getAddress(inner[0].to), data: inner[0].data, operation: 0 }
      : {
          to: canonicalSafeContractsByVersion[p.safe.version ?? SAFE_VERSION].multiSendCallOnly,
          data: encodeMultiSendCalls(inner),
          operation: 1,
        };
  if (
    getAddress(p.safeTx.to) !== expected.to ||
    p.safeTx.data !== expected.data ||
    p.safeTx.operation !== expected.operation ||
    p.safeTx.value !== "0"
  )
    fail("the Safe transaction is not the batch of its calls");
  if (p.safeTx.nonce !== p.safe.nonce) fail("the Safe transaction nonce differs");
  const hashes = safeTxHashes(p.chainId, safe, p.safeTx);
  if (
    hashes.safeTxHash !== p.safeTxHash ||
    hashes.domainHash !== p.eip712.domainHash ||
    hashes.messageHash !== p.eip712.messageHash
  )
    fail("the Safe tx hash is not the hash of its transaction");
}

/** A proposal file's text differs from what it signs, or from the chain: refused, naming the field. */
export class ProposalMismatchError extends Error {
  constructor(
    readonly proposalId: string,
    readonly field: string,
    why: string,
  ) {
    super(
      `proposal ${proposalId} does not match its calls: ${field}: ${why}; refusing it (regenerate it with pulumi up)`,
    );
    this.name = "ProposalMismatchError";
  }
}

const quoted = (value: unknown) => JSON.stringify(value);

/**
 * Recomputes every readable field of the calls (function, arguments, description, resource,
 * revocation) and the emergency flag from the calldata; a file whose text says anything else is
 * refused, naming the first field that differs and what the calldata really says.
 */
export function verifyProposalText(p: ProposalFile, labels: ReadonlyMap<Address, ContractLabel>): void {
  p.calls.forEach((call, i) => {
    // The file names the function its upgrade data calls; it counts only if it decodes that data exactly.
    const text = describeCall(call, labels, call.upgradeCall);
    for (const field of [
      "description",
      "functionName",
      "signature",
      "args",
      "resource",
      "revokes",
      "upgradeCall",
    ] as const) {
      if (quoted(call[field]) !== quoted(text[field]))
        throw new ProposalMismatchError(
          p.id,
          `calls[${i}].${field}`,
          `the file says ${quoted(call[field])}, the calldata says ${quoted(text[field])}`,
        );
    }
  });
  const emergency = p.calls.length > 0 && p.calls.every((c) => c.revokes);
  if (p.emergency !== emergency)
    throw new ProposalMismatchError(
      p.id,
      "emergency",
      `the file says ${p.emergency}, but its calls ${emergency ? "only revoke" : "do not only revoke"}`,
    );
}

/** A verified file's calls as the planner's, their typed change decoded from the calldata, to replay them. */
function replayableCalls(p: ProposalFile): (PlannedCall | undefined)[] {
  return p.calls.map((call) => {
    const change = decodeCallData(call.data);
    // An unknown call changes nothing the packet tracks: its text already says UNKNOWN.
    if (!change) return undefined;
    return {
      resource: call.resource as ResourceKey,
      property: call.property,
      to: getAddress(call.to),
      value: 0n,
      data: call.data,
      change,
      functionName: call.functionName,
      args: call.args,
      sender: getAddress(call.sender),
      description: call.description,
      revokes: call.revokes,
    };
  });
}

/** The first key of the expected state whose value differs, for the error to name. */
function firstDifference(file: object, derived: object): string {
  const keys = new Set([...Object.keys(file), ...Object.keys(derived)]);
  const key = [...keys].find(
    (k) => !isDeepStrictEqual((file as Record<string, unknown>)[k], (derived as Record<string, unknown>)[k]),
  );
  return key ? `expectedState.${key}` : "expectedState";
}

/** Organisations are not on chain: each one the file names must be the stack config's for that signer. */
export function verifyProposalOrganisations(p: ProposalFile, config: StackConfig): void {
  const organisations =
    config.governance.mode === "direct"
      ? new Map<Address, string>()
      : new Map(config.governance.safe.owners.map((o) => [getAddress(o.address), o.org]));
  for (const [address, org] of Object.entries(p.organisations ?? {})) {
    const configured = organisations.get(getAddress(address));
    if (configured !== org)
      throw new ProposalMismatchError(
        p.id,
        `organisations.${address}`,
        `the file says ${quoted(org)}, ${configured === undefined ? "the stack config names no such signer" : `the stack config says ${quoted(configured)}`}`,
      );
  }
}

/**
 * The expiry a stock timelock leaves to this tool is the stack config's window: a file claiming a
 * longer one (or that the contract enforces it) would let an expired operation run.
 */
export function verifyProposalExpiry(p: ProposalFile, config: StackConfig): void {
  const timelock = p.timelock;
  if (!timelock) return;
  const g = config.governance;
  const byTool = g.mode === "safe+timelock" && g.timelock.kind === "openzeppelin";
  if ((timelock.expiryEnforcedBy ?? "contract") !== (byTool ? "tool" : "contract"))
    throw new ProposalMismatchError(
      p.id,
      "timelock.expiryEnforcedBy",
      `the file says ${quoted(timelock.expiryEnforcedBy ?? "contract")}, the stack's timelock kind makes it ${quoted(byTool ? "tool" : "contract")}`,
    );
  if (byTool && timelock.expiration !== g.timelock.expiration.toString())
    throw new ProposalMismatchError(
      p.id,
      "timelock.expiration",
      `the file says ${quoted(timelock.expiration)}, the stack config's governance.timelock.expiration is ${g.timelock.expiration} s`,
    );
}

/**
 * The packet's derived text: each call's before → after and the expected state, replayed from the
 * chain at the block the proposal was planned at (`live`) and the calls. A file saying anything else
 * is refused, naming the field.
 */
export function verifyProposalEffects(p: ProposalFile, live: LiveState): void {
  const replayable = replayableCalls(p);
  const calls = replayable.filter((c) => c !== undefined);
  const derivedChanges = callChanges(live, calls);
  const changes = replayable.map((c) => (c ? derivedChanges[calls.indexOf(c)] : undefined));
  p.calls.forEach((call, i) => {
    if (call.change !== changes[i])
      throw new ProposalMismatchError(
        p.id,
        `calls[${i}].change`,
        `the file says ${quoted(call.change)}, the calldata on the chain at block ${live.blockNumber} says ${quoted(changes[i])}`,
      );
  });
  if (p.expectedState === undefined) return;
  const derived = expectedState(live, calls);
  if (!isDeepStrictEqual(p.expectedState, derived)) {
    const field = firstDifference(p.expectedState, derived);
    throw new ProposalMismatchError(
      p.id,
      field,
      `the file's differs from the calls replayed on the chain at block ${live.blockNumber}`,
    );
  }
}

/** The Safe as the chain has it: who may sign and how many must. */
export interface SafeOnChain {
  address: Address;
  owners: Address[];
  threshold: number;
  nonce: bigint;
}

export async function readSafeOnChain(client: PublicClient, safe: Address): Promise<SafeOnChain> {
  const [owners, threshold, nonce] = await client.multicall({
    contracts: [
      { address: safe, abi: safeAbi, functionName: "getOwners" },
      { address: safe, abi: safeAbi, functionName: "getThreshold" },
      { address: safe, abi: safeAbi, functionName: "nonce" },
    ],
    allowFailure: false,
  });
  return { address: getAddress(safe), owners: owners.map((o) => getAddress(o)), threshold: Number(threshold), nonce };
}

/**
 * While a proposal still waits for its Safe nonce, the owners and threshold it shows must be the
 * Safe's own: a file claiming another threshold or another signer is refused.
 */
export function verifyProposalSafe(p: ProposalFile, safe: SafeOnChain): void {
  if (getAddress(p.safe.address) !== safe.address)
    throw new ProposalMismatchError(
      p.id,
      "safe.address",
      `the file says ${p.safe.address}, the stack's Safe is ${safe.address}`,
    );
  if (BigInt(p.safe.nonce) < safe.nonce) return;
  if (p.safe.threshold !== safe.threshold)
    throw new ProposalMismatchError(
      p.id,
      "safe.threshold",
      `the file says ${p.safe.threshold}, the Safe requires ${safe.threshold} on chain`,
    );
  const fileOwners = p.safe.owners.map((o) => getAddress(o)).sort();
  const chainOwners = [...safe.owners].sort();
  if (quoted(fileOwners) !== quoted(chainOwners)) {
    const extra = fileOwners.filter((o) => !chainOwners.includes(o));
    const missing = chainOwners.filter((o) => !fileOwners.includes(o));
    throw new ProposalMismatchError(
      p.id,
      "safe.owners",
      `${extra.length ? `the file lists ${extra.join(", ")}, not an owner on chain` : `the file leaves out owner ${missing.join(", ")}`}`,
    );
  }
}

/**
 * Everything a command checks before it shows, signs, approves or executes a proposal: the Safe
 * transaction rebuilt from the calls, the text rebuilt from the calldata, the Safe read from the
 * chain. Returns the Safe as the chain has it, for what is shown.
 */
export async function verifyProposalFile(
  client: PublicClient,
  config: StackConfig,
  p: ProposalFile,
  scans: ScanOptions = {},
): Promise<SafeOnChain> {
  verifyProposal(p);
  verifyProposalText(p, contractLabels(config));
  const governance = config.governance;
  if (governance.mode === "direct")
    throw new Error(`proposal ${p.id}: the stack is in direct mode, it has no Safe to sign for`);
  if (getAddress(p.safe.address) !== governance.safe.address)
    throw new ProposalMismatchError(
      p.id,
      "safe.address",
      `the file says ${p.safe.address}, the stack's Safe is ${governance.safe.address}`,
    );
  const safe = await readSafeOnChain(client, governance.safe.address);
  verifyProposalSafe(p, safe);
  verifyProposalOrganisations(p, config);
  verifyProposalExpiry(p, config);
  let planned: LiveState | undefined;
  try {
    // From the stack's scan checkpoint (usually the one the proposal's own run saved): no rescan of an old chain.
    planned = await readLiveState(client, config, { ...scans, pinnedBlock: BigInt(p.plannedAtBlock) });
  } catch {
    // An RPC that keeps no old state (not an archive node) cannot replay the plan: then the derived
    // text is not shown at all, rather than shown unchecked.
    delete p.expectedState;
    for (const call of p.calls) delete call.change;
  }
  if (planned) verifyProposalEffects(p, planned);
  return safe;
}
