import { createWalletClient, http, type Hex, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { assertChainId, createChainClient } from "../chain/client";
import { readLiveState, type LiveState } from "../chain/read-state";
import { checkpointPath, fileCheckpointStore, type CheckpointStore } from "../chain/scan-checkpoints";
import { parseStackConfig, type StackConfig } from "../config/schema";
import { readStackFile } from "../config/stack-file";
import { resolveMeasurementFiles } from "../measurements/resolve";
import { planChanges } from "../plan/plan";
import type { PlannedCall } from "../plan/types";
import { unmanagedNotes } from "../plan/unmanaged";
import type { PolicyFindings } from "../policy/findings";
import { assertProposable, inspectPolicy, sealProposal } from "../policy/gate";
import { buildProposal } from "../proposal/build";
import { listProposals, writeProposalFiles } from "../proposal/files";
import { isInFlight, proposalStatus, type ProposalStatus } from "../proposal/status";
import type { ProposalFile } from "../proposal/types";

export interface Stack {
  name: string;
  /** Where proposals/<stack>/ lives. */
  root: string;
  config: StackConfig;
  client: PublicClient;
  /** Where event scans resume from (checkpoints/<stack>.json), and what reads found the stack file should say. */
  scans: { checkpoints: CheckpointStore; notices: Set<string>; onNotice?: (message: string) => void };
}

/** Validates the raw config and connects; the RPC must serve the declared chain. */
export async function openStack(args: {
  name: string;
  root: string;
  rawConfig: unknown;
  onRequest?: () => void;
  onNotice?: (message: string) => void;
}): Promise<Stack> {
  const config = parseStackConfig(resolveMeasurementFiles(args.rawConfig, args.root));
  const client = createChainClient({
    chainId: config.network.chainId,
    rpcUrls: config.network.rpcUrls,
    onRequest: args.onRequest,
  });
  await assertChainId(client, config.network.chainId);
  return {
    name: args.name,
    root: args.root,
    config,
    client,
    scans: {
      checkpoints: fileCheckpointStore(checkpointPath(args.root, args.name)),
      notices: new Set(),
      onNotice: args.onNotice,
    },
  };
}

/** The stack's live state at the head (or at `pinnedBlock`), scanning events from its checkpoint. */
export function readStackState(stack: Stack, pinnedBlock?: bigint): Promise<LiveState> {
  const { checkpoints, notices, onNotice } = stack.scans;
  const notice = (message: string) => {
    if (notices.has(message)) return;
    notices.add(message);
    onNotice?.(message);
  };
  return readLiveState(stack.client, stack.config, { pinnedBlock, checkpoints, onNotice: notice });
}

/** A wallet on the stack's chain and first RPC URL, signing locally with the key (never sent anywhere). */
export function stackWallet(stack: Stack, privateKey: Hex): WalletClient {
  return createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain: stack.client.chain,
    transport: http(stack.config.network.rpcUrls[0]),
  });
}

export interface TrackedProposal {
  proposal: ProposalFile;
  status: ProposalStatus;
}

export interface Inspection {
  live: LiveState;
  /** Everything that differs between config and chain. */
  calls: PlannedCall[];
  proposals: TrackedProposal[];
  /** The in-flight proposal that already carries exactly these calls, if any. */
  coveredBy?: TrackedProposal;
  /** Policy errors (proposeChanges refuses), warnings (preview shows them) and the overrides used. */
  findings: PolicyFindings;
  /** What the config does not govern though the chain holds it, e.g. "kms.devices: not managed, 3 on chain". */
  unmanaged: string[];
}

function sameCalls(calls: readonly PlannedCall[], proposal: ProposalFile): boolean {
  return (
    calls.length === proposal.calls.length &&
    calls.every(
      (c, i) =>
        c.to === proposal.calls[i].to && c.data === proposal.calls[i].data && c.sender === proposal.calls[i].sender,
    )
  );
}

/** config → live state → plan, and which proposals are already in flight. Reads only. */
export async function inspectStack(stack: Stack): Promise<Inspection> {
  const live = await readStackState(stack);
  const calls = planChanges(stack.config, live);
  const proposals: TrackedProposal[] = [];
  for (const proposal of await listProposals(stack.root, stack.name)) {
    if (proposal.chainId !== live.chainId) continue;
    proposals.push({ proposal, status: await proposalStatus(stack.client, proposal, live.blockNumber) });
  }
  const coveredBy = calls.length
    ? proposals.find((t) => isInFlight(t.status) && sameCalls(calls, t.proposal))
    : undefined;
  return {
    live,
    calls,
    proposals,
    coveredBy,
    findings: await inspectPolicy(stack, live, calls),
    unmanaged: unmanagedNotes(stack.config, live),
  };
}

export interface ProposeOptions {
  /** Run the proposal on a fork (Safe, time warp, timelock) first; refuse it unless re-planning there finds nothing. */
  proveConvergence?: boolean;
}

/**
 * Refuses, before anything is written, when the policy forbids the change (see src/policy/).
 * Turns the pending calls into ONE proposal, unless an in-flight proposal already carries them.
 * A new proposal supersedes the in-flight ones: it reuses the nonce of an unsigned/unexecuted one
 * (only one of them can ever execute) and cancels operations already queued in the timelock.
 */
export async function proposeChanges(
  stack: Stack,
  inspection: Inspection,
  proposerKey?: Hex,
  options: ProposeOptions = {},
): Promise<ProposalFile | undefined> {
  const { live, calls } = inspection;
  await assertProposable(stack, live, calls, inspection.findings, (name) =>
    openStack({ name, root: stack.root, rawConfig: readStackFile(stack.root, name) }),
  );
  if (calls.length === 0) return undefined;
  if (inspection.coveredBy) return inspection.coveredBy.proposal;
  const inFlight = inspection.proposals.filter((t) => isInFlight(t.status));
  const unexecuted = inFlight
    .filter((t) => t.status.state === "awaiting-signatures")
    .map((t) => BigInt(t.proposal.safe.nonce));
  // biome-ignore lint/complexity/useMathMinMax: nonces are bigints
  const nonce = unexecuted.length ? unexecuted.reduce((a, b) => (a < b ? a : b)) : undefined;
  // Queued operations are cancelled so they cannot run after being superseded; expired ones so
  // the timelock's queue holds only what can still happen.
  const cancels = inspection.proposals
    .filter(
      (t) =>
        t.proposal.timelock?.targets.length &&
        (t.status.state === "scheduled" || t.status.state === "ready" || t.status.state === "expired"),
    )
    .map((t) => t.proposal.timelock!.operationId);
  const built = await buildProposal({
    stack: stack.name,
    config: stack.config,
    live,
    calls,
    client: stack.client,
    nonce,
    cancels,
    cancelledProposals: inspection.proposals.map((t) => t.proposal),
    proposerKey,
  });
  const proposal = await sealProposal(built, stack, live, inspection.findings, options);
  await writeProposalFiles(stack.root, proposal);
  return proposal;
}
