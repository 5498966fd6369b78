// Loaded by module inside the dynamic provider process (never serialized): the provider
// closures stay tiny and this file reaches the engine through ordinary requires.
import type { Hex } from "viem";
import { PolicyError } from "../src/policy/findings";
import { formatDuration } from "../src/config/duration";
import { appSchema, kmsSchema, safeSchema, timelockSchema } from "../src/config/schema";
import { PROJECT, SECTIONS } from "../src/config/stack-file";
import { executeSafeTransaction, executeTimelockBatch, sendDirect } from "../src/proposal/execute";
import { nextSteps } from "../src/proposal/next-steps";
import { proposeExecutionThroughSafe } from "../src/reconcile/execution";
import {
  inspectStack,
  openStack,
  proposeChanges,
  readStackState,
  stackWallet,
  type Stack,
} from "../src/reconcile/reconcile";
import type { GovernedInputs, ProposalInputs } from "./inputs";

type ConfigSource = { get(key: string): string | undefined };
let stackConfig: ConfigSource | undefined;

export function configure(config: ConfigSource): void {
  stackConfig = config;
}

function configValue(key: string): unknown {
  const raw = stackConfig?.get(`${PROJECT}:${key}`);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function key(name: "proposerKey" | "executorKey" | "adminKey"): Hex | undefined {
  return stackConfig?.get(`${PROJECT}:${name}`) as Hex | undefined;
}

async function open(stack: string, root: string): Promise<Stack> {
  const rawConfig = Object.fromEntries(SECTIONS.map((section) => [section, configValue(section)]));
  return openStack({ name: stack, root, rawConfig });
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
  const result = declaredSchemas[news.kind].safeParse(news.declared);
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
  return { changes: news.pending.length > 0 || JSON.stringify(olds.declared) !== JSON.stringify(news.declared) };
}

export function proposalDiff(news: ProposalInputs): { changes: boolean } {
  const canExecute = news.executable.length > 0 && (news.mode === "direct" || key("executorKey") !== undefined);
  return { changes: news.calls.length > 0 || canExecute || news.executeThroughSafe.length > 0 };
}

/** A live list in the declared order when it has the same members, so refresh reports only real drift. */
function alignedTo<T>(live: T[], declared: unknown, key: (item: T) => string = String): T[] {
  if (!Array.isArray(declared)) return live;
  const liveKeys = live.map(key).sort();
  const declaredKeys = declared.map((d) => key(d as T)).sort();
  return JSON.stringify(liveKeys) === JSON.stringify(declaredKeys) ? (declared as T[]) : live;
}

/** `pulumi refresh`: the resource's declared properties as the chain has them now. */
export async function readGoverned(props: GovernedInputs): Promise<GovernedInputs> {
  const stack = await open(props.stack, props.root);
  const live = await readStackState(stack);
  const d = props.declared;
  const orgOf = (address: string) =>
    (d.owners as { address: string; org: string }[] | undefined)?.find((o) => o.address === address)?.org ?? "unknown";
  const app = live.apps.find((a) => `app:${a.name}` === props.resource);
  const source: Record<string, unknown> =
    props.resource === "safe"
      ? {
          address: live.safe?.address,
          threshold: live.safe?.threshold,
          owners: alignedTo(
            (live.safe?.owners ?? []).map((address) => ({ address, org: orgOf(address) })),
            d.owners,
            (o) => o.address,
          ),
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
          ? {
              ...live.kms,
              osImages: alignedTo(live.kms.osImages, d.osImages),
              aggregatedMrs: alignedTo(live.kms.aggregatedMrs, d.aggregatedMrs),
              devices: alignedTo(live.kms.devices, d.devices),
            }
          : {
              ...app,
              composeHashes: alignedTo(app?.composeHashes ?? [], d.composeHashes),
              devices: alignedTo(app?.devices ?? [], d.devices),
            };
  return { ...props, declared: Object.fromEntries(Object.keys(d).map((k) => [k, source[k] ?? d[k]])) };
}

export interface ProposalOutputs extends ProposalInputs {
  proposalId?: string;
  safeTxHash?: string;
  /** Execution proposals written this run (the Safe is the timelock's executor). */
  executionProposals: string[];
  /** The proposal's files, the signatures it still needs and the command to run next. */
  nextSteps?: string;
  executed: string[];
  sentTransactions: string[];
}

/**
 * `pulumi up`: runs whatever in-flight step can run now (with the executor key), then turns the
 * remaining calls into ONE proposal (Safe modes) or sends them with the admin key (direct mode).
 */
export async function applyProposal(inputs: ProposalInputs): Promise<ProposalOutputs> {
  const stack = await open(inputs.stack, inputs.root);
  // What this run consumed is recorded as done, so a later refresh finds nothing left to do.
  const outputs: ProposalOutputs = {
    ...inputs,
    calls: [],
    executable: [],
    executeThroughSafe: [],
    executionProposals: [],
    executed: [],
    sentTransactions: [],
  };

  let inspection = await inspectStack(stack);
  if (stack.config.governance.mode === "direct") {
    const adminKey = key("adminKey");
    // Direct mode has no proposal to refuse, so the policy gate stops the transactions here.
    if (inspection.findings.errors.length) throw new PolicyError(inspection.findings.errors);
    if (inspection.calls.length && !adminKey)
      throw new Error(
        "direct mode sends transactions itself: set the admin key with `pulumi config set --secret adminKey <key>`",
      );
    if (adminKey)
      outputs.sentTransactions = await sendDirect(stack.client, stackWallet(stack, adminKey), inspection.calls);
    return outputs;
  }

  // Only the Safe may execute these ready batches: each gets a Safe transaction of its own, for k signatures.
  for (const { proposal, status } of inspection.proposals) {
    if (!inputs.executeThroughSafe.includes(proposal.id) || status.state !== "ready") continue;
    outputs.executionProposals.push((await proposeExecutionThroughSafe(stack, proposal, status)).proposal.id);
  }
  if (outputs.executionProposals.length) inspection = await inspectStack(stack);
  const executorKey = key("executorKey");
  if (executorKey) {
    for (const { proposal, status } of inspection.proposals) {
      if (!inputs.executable.includes(proposal.id)) continue;
      if (status.state === "ready") await executeTimelockBatch(stack.client, stackWallet(stack, executorKey), proposal);
      else if (status.state === "awaiting-signatures" && status.have >= status.need)
        await executeSafeTransaction(stack.client, stackWallet(stack, executorKey), proposal);
      else continue;
      outputs.executed.push(proposal.id);
    }
    if (outputs.executed.length) inspection = await inspectStack(stack);
  }
  const proposal = await proposeChanges(stack, inspection, key("proposerKey"));
  if (proposal) {
    outputs.proposalId = proposal.id;
    outputs.safeTxHash = proposal.safeTxHash;
    outputs.nextSteps = nextSteps(proposal);
  }
  return outputs;
}
