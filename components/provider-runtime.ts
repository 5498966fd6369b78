// Loaded by module inside the dynamic provider process (never serialized): the provider
// closures stay tiny and this file reaches the engine through ordinary requires.
import type { Hex } from "viem";
import type { LiveState } from "../src/chain/read-state";
import type { MeasuredByCommand } from "../src/measurements/resolve";
import { PolicyError } from "../src/policy/findings";
import { formatDuration } from "../src/config/duration";
import { appSchema, kmsSchema, safeSchema, timelockSchema } from "../src/config/schema";
import { executeSafeTransaction, executeTimelockBatch, sendDirect } from "../src/proposal/execute";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { nextSteps } from "../src/proposal/next-steps";
import { describeStatus, isInFlight } from "../src/proposal/status";
import type { ProposalFile } from "../src/proposal/types";
import { proposeExecutionThroughSafe } from "../src/reconcile/execution";
import { inspectStack, proposeChanges } from "../src/reconcile/reconcile";
import { readStackState } from "../src/reconcile/read-stack";
import { openStack, type Stack } from "../src/reconcile/stack";
import { stackWallet } from "../src/reconcile/wallet";
import { deployDeterministic } from "../src/implementation/create2";
import { recordProposedLayouts } from "../src/implementation/record";
import {
  declaredInputs,
  declaredValues,
  type DeploymentInputs,
  type GovernedInputs,
  type ProposalInputs,
  type ProposalSummary,
  type RawConfig,
} from "./inputs";

/** Pulumi runs providers in the program's directory: the project (proposals/, measurement files) is the nearest one holding Pulumi.yaml. */
function projectDir(): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "Pulumi.yaml"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no Pulumi.yaml above ${process.cwd()}`);
  }
}

// One provider process serves one Pulumi phase: its resources share one opened stack and one read
// per block, however many of them ask (refresh reads every governed resource). A write from this
// process drops the reads: the chain they saw is gone.
const opened = new Map<string, Promise<Stack>>();
const reads = new Map<Stack, Map<string, Promise<LiveState>>>();
let wrote = false;

/** The first caller's promise, shared by every later caller with the same key; a failure is not kept. */
function shared<T>(memo: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  const known = memo.get(key);
  if (known) return known;
  const made = make();
  memo.set(key, made);
  made.catch(() => memo.get(key) === made && memo.delete(key));
  return made;
}

function open(stack: string, rawConfig: RawConfig, measured?: MeasuredByCommand): Promise<Stack> {
  return shared(opened, JSON.stringify([stack, rawConfig, measured ?? {}]), () =>
    openStack({ name: stack, root: projectDir(), rawConfig, measured }),
  );
}

/** The stack's live state at `block` (else at the head), read once for the whole process until it writes. */
function liveState(stack: Stack, block?: bigint): Promise<LiveState> {
  if (!reads.has(stack)) reads.set(stack, new Map());
  return shared(reads.get(stack)!, block?.toString() ?? "head", () => readStackState(stack, block));
}

function chainWritten(): void {
  wrote = true;
  reads.clear();
}

const declaredSchemas = {
  GovernanceSafe: safeSchema,
  Timelock: timelockSchema,
  ContractProxy: kmsSchema.pick({ proxy: true, implementation: true, owner: true }),
  KmsPolicy: kmsSchema.pick({
    osImages: true,
    aggregatedMrs: true,
    devices: true,
    gatewayAppId: true,
    appImplementation: true,
    info: true,
  }),
  AppPolicy: appSchema.pick({ composeHashes: true, devices: true, allowAnyDevice: true, requireTcbUpToDate: true }),
} as const;

/** `check`: the declared values must satisfy the engine's own schema for that resource. */
export function governedCheck(news: GovernedInputs): {
  inputs: GovernedInputs;
  failures: { property: string; reason: string }[];
} {
  const result = declaredSchemas[news.kind].safeParse(declaredValues(news.declared));
  const failures = result.success
    ? []
    : result.error.issues.map((issue) => ({
        property: "declared",
        reason: `${[news.resource, ...issue.path].join(".")}: ${issue.message}`,
      }));
  return { inputs: news, failures };
}

/**
 * A governed resource changes when a call is still needed that no proposal carries, or when its
 * recorded values differ (a config edit, or drift that `pulumi refresh` found on chain).
 */
export function governedDiff(olds: GovernedInputs, news: GovernedInputs): { changes: boolean } {
  return { changes: news.__pending.length > 0 || !isDeepStrictEqual(olds.declared, news.declared) };
}

export function proposalDiff(news: ProposalInputs): { changes: boolean } {
  const canExecute = news.__executable.length > 0 && (news.mode === "direct" || news.__keys.executorKey !== undefined);
  return { changes: news.__calls.length > 0 || canExecute || news.__executeThroughSafe.length > 0 };
}

/** `pulumi refresh`: the resource's declared properties as the chain has them now. */
export async function readGoverned(props: GovernedInputs): Promise<GovernedInputs> {
  const stack = await open(props.stack, props.__config);
  const live = await liveState(stack);
  const d = declaredValues(props.declared);
  const orgOf = (address: string) =>
    (d.owners as { address: string; org: string }[] | undefined)?.find((o) => o.address === address)?.org ?? "unknown";
  const app = live.apps.find((a) => `app:${a.name}` === props.resource);
  const source: Record<string, unknown> =
    props.resource === "safe"
      ? {
          address: live.safe?.address,
          threshold: live.safe?.threshold,
          owners: (live.safe?.owners ?? []).map((address) => ({ address, org: orgOf(address) })),
        }
      : props.resource === "timelock"
        ? {
            address: live.timelock?.address,
            delay: live.timelock && formatDuration(live.timelock.delay),
            expiration:
              live.timelock &&
              (live.timelock.expiration === undefined ? d.expiration : formatDuration(live.timelock.expiration)),
          }
        : props.resource === "kms"
          ? { ...live.kms }
          : { ...app };
  return { ...props, declared: declaredInputs(Object.fromEntries(Object.keys(d).map((k) => [k, source[k] ?? d[k]]))) };
}

export interface ProposalOutputs extends Omit<ProposalInputs, "__keys"> {
  proposals: ProposalSummary[];
  /** The proposal's files, the signatures it still needs and the command to run next ("" when none was written). */
  nextSteps: string;
  /** Execution proposals written this run (the Safe is the timelock's executor). */
  executionProposals: string[];
  executed: string[];
  sentTransactions: string[];
}

/**
 * `pulumi up`: runs whatever in-flight step can run now (with the executor key), then turns the
 * remaining calls into ONE proposal (Safe modes) or sends them with the admin key (direct mode).
 */
export async function applyProposal(inputs: ProposalInputs): Promise<ProposalOutputs> {
  const { __keys: keys, ...recorded } = inputs;
  const stack = await open(inputs.stack, inputs.__config, inputs.__measured);
  // What this run consumed is recorded as done, so a later refresh finds nothing left to do.
  const outputs: ProposalOutputs = {
    ...recorded,
    __calls: [],
    __executable: [],
    proposals: [],
    nextSteps: "",
    __executeThroughSafe: [],
    executionProposals: [],
    executed: [],
    sentTransactions: [],
  };

  const adminKey = keys.adminKey as Hex | undefined;
  const executorKey = keys.executorKey as Hex | undefined;
  const direct = stack.config.governance.mode === "direct";
  // Planned at the program's block, the proposal is the plan this run showed. Transactions are sent
  // on what the head says, and nothing is read at a block from before this process's own write.
  const sends = direct ? adminKey !== undefined : executorKey !== undefined && inputs.__executable.length > 0;
  const pinned = inputs.__block !== undefined && !sends && !wrote ? BigInt(inputs.__block) : undefined;
  let inspection = await inspectStack(stack, pinned === undefined ? undefined : await liveState(stack, pinned));
  if (direct) {
    // Direct mode has no proposal to refuse, so the policy gate stops the transactions here.
    if (inspection.findings.errors.length) throw new PolicyError(inspection.findings.errors);
    if (inspection.calls.length && !adminKey)
      throw new Error(
        "direct mode sends transactions itself: set the admin key with `pulumi config set --secret adminKey <key>`",
      );
    if (adminKey) {
      outputs.sentTransactions = await sendDirect(stack.client, stackWallet(stack, adminKey), inspection.calls);
      chainWritten();
      await recordProposedLayouts(stack, inspection.calls);
    }
    return outputs;
  }

  // Only the Safe may execute these ready batches: each gets a Safe transaction of its own, for k signatures.
  for (const { proposal, status } of inspection.proposals) {
    if (!inputs.__executeThroughSafe.includes(proposal.id) || status.state !== "ready") continue;
    outputs.executionProposals.push((await proposeExecutionThroughSafe(stack, proposal, status)).proposal.id);
  }
  // Files only: the chain is as it was read.
  if (outputs.executionProposals.length) inspection = await inspectStack(stack, inspection.live);
  if (executorKey) {
    for (const { proposal, status } of inspection.proposals) {
      if (!inputs.__executable.includes(proposal.id)) continue;
      if (status.state === "ready") await executeTimelockBatch(stack.client, stackWallet(stack, executorKey), proposal);
      else if (status.state === "awaiting-signatures" && status.have >= status.need)
        await executeSafeTransaction(stack.client, stackWallet(stack, executorKey), proposal);
      else continue;
      outputs.executed.push(proposal.id);
    }
    if (outputs.executed.length) {
      chainWritten();
      inspection = await inspectStack(stack);
    }
  }
  const proposal = await proposeChanges(stack, inspection, keys.proposerKey as Hex | undefined);
  const summary = (p: ProposalFile, status: string): ProposalSummary => ({ id: p.id, safeNonce: p.safe.nonce, status });
  outputs.proposals = inspection.proposals
    .filter((t) => isInFlight(t.status))
    .map((t) => summary(t.proposal, describeStatus(t.status)));
  if (proposal)
    outputs.proposals.push(
      summary(proposal, `awaiting signatures (${proposal.signatures.length} of ${proposal.safe.threshold})`),
    );
  outputs.nextSteps = proposal ? nextSteps(proposal) : "";
  // The output is always set (so preview never shows it unknown), and Pulumi abbreviates a changed
  // multi-line output: the whole text goes to the run's diagnostics too.
  if (proposal) console.log(outputs.nextSteps);
  return outputs;
}

/** `pulumi up` of an ImplementationDeployment: CREATE2 with the deployer key, unless the code is there already. */
export async function deployImplementation(
  inputs: DeploymentInputs,
): Promise<Omit<DeploymentInputs, "__keys"> & { transaction?: string }> {
  const { __keys: keys, ...recorded } = inputs;
  const stack = await open(inputs.stack, inputs.__config);
  const source = stack.implementations.find((s) => s.resource === inputs.resource && s.deployment);
  if (!source || source.address !== inputs.address)
    throw new Error(
      `${inputs.resource}: the config no longer deploys ${inputs.contract} at ${inputs.address}; run pulumi up again`,
    );
  const deployerKey = keys.deployerKey as Hex | undefined;
  if (!deployerKey)
    throw new Error(
      `${source.path}: deploying ${source.artifact.name} needs a funded deployer key: \`pulumi config set --secret deployerKey <key>\` (or give the address of a deployment)`,
    );
  const { transaction } = await deployDeterministic(stack.client, stackWallet(stack, deployerKey), source.deployment!);
  if (transaction) chainWritten();
  return { ...recorded, ...(transaction ? { transaction } : {}) };
}
