import * as pulumi from "@pulumi/pulumi";
import { formatDuration } from "../src/config/duration";
import { governanceOwner, type StackConfig } from "../src/config/schema";
import { describeFinding } from "../src/policy/findings";
import { describeStatus, isInFlight } from "../src/proposal/status";
import type { MeasuredByCommand } from "../src/measurements/resolve";
import { awaitingSafeExecution } from "../src/reconcile/execution";
import { describeUnfiled, type Inspection } from "../src/reconcile/reconcile";
import type { ImplementationSource } from "../src/implementation/resolve";
import { callsFor, declaredInputs, type RawConfig, type ResourceSlot, type StackKeys } from "./inputs";
import {
  AppPolicy,
  ContractProxy,
  GovernanceProposal,
  GovernanceProvider,
  GovernanceSafe,
  ImplementationDeployment,
  KmsPolicy,
  Timelock,
} from "./resources";

export interface DstackGovernanceArgs {
  stack: string;
  config: StackConfig;
  /** Live state, plan and in-flight proposals, read once when the program starts. */
  inspection: Inspection;
  /** Implementations given as artifacts; those without an address are deployed here, before the proposal. */
  implementations: readonly ImplementationSource[];
  /** Hashes the config's measurement commands printed this run: the proposal uses them, never runs them again. */
  measured: MeasuredByCommand;
  /** The config sections as read, for the providers to open the stack with. */
  rawConfig: RawConfig;
  /** Secret config: the keys `up` proposes, executes, sends and deploys with. */
  keys: pulumi.Input<StackKeys>;
}

/** Wires the governed resources of one stack from its validated config and its live inspection. */
export class DstackGovernance extends pulumi.ComponentResource {
  readonly proposal: GovernanceProposal;

  constructor(name: string, args: DstackGovernanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dstack:governance:DstackGovernance", name, {}, opts);
    const { stack, config, inspection, implementations, measured, rawConfig, keys } = args;
    const provider = new GovernanceProvider("governance", { parent: this });
    // Deployments run first (the proposal upgrades to them; a contract deployed is recorded, it is on chain).
    const deployments = implementations
      .filter((s) => s.deployment)
      .map(
        (source) =>
          new ImplementationDeployment(
            `${source.resource === "kms" ? "kms" : source.resource.slice(4)}-implementation`,
            {
              stack,
              resource: source.resource,
              contract: source.artifact.name,
              address: source.address,
              salt: source.deployment!.salt,
              __config: rawConfig,
              __keys: keys,
            },
            { parent: this, provider },
          ),
      );
    const executeThroughSafe = awaitingSafeExecution(inspection.live, inspection.proposals).map((p) => p.id);
    const executable = inspection.proposals
      .filter(
        ({ status }) =>
          status.state === "ready" || (status.state === "awaiting-signatures" && status.have >= status.need),
      )
      .map(({ proposal }) => proposal.id)
      .filter((id) => !executeThroughSafe.includes(id));
    this.proposal = new GovernanceProposal(
      "proposal",
      {
        stack,
        mode: config.governance.mode,
        __calls: inspection.uncovered.map((c) => c.description),
        __executable: executable,
        __measured: measured,
        __executeThroughSafe: executeThroughSafe,
        // A deployment changes the chain before the proposal, which must see the deployed code: it reads the head.
        ...(deployments.length ? {} : { __block: inspection.live.blockNumber.toString() }),
        __config: rawConfig,
        __keys: keys,
      },
      { parent: this, provider, dependsOn: deployments },
    );
    // The governed resources record the declared values only once the proposal carrying them was written:
    // when the proposal fails, none of them runs, and the state stays as it was.
    const after = { parent: this, provider, dependsOn: [this.proposal] };
    // Calls already carried by an in-flight proposal are not pending: they are on their way.
    const uncovered = inspection.uncovered;
    /** One governed resource; the calls it still needs are logged on it, readable in preview. */
    const governed = (
      type: typeof GovernanceSafe,
      name: string,
      slot: ResourceSlot,
      declared: Record<string, unknown>,
    ) => {
      const pending = callsFor(uncovered, slot).map((c) => c.description);
      const resource = new type(
        name,
        { stack, resource: slot.resource, declared: declaredInputs(declared), __pending: pending, __config: rawConfig },
        after,
      );
      for (const call of pending) pulumi.log.info(`pending: ${call}`, resource);
    };
    const governance = config.governance;

    if (governance.mode !== "direct") {
      governed(
        GovernanceSafe,
        "safe",
        { resource: "safe", properties: "all" },
        { address: governance.safe.address, owners: governance.safe.owners, threshold: governance.safe.threshold },
      );
    }
    if (governance.mode === "safe+timelock") {
      const t = governance.timelock;
      governed(
        Timelock,
        "timelock",
        { resource: "timelock", properties: "all" },
        { address: t.address, delay: formatDuration(t.delay), expiration: formatDuration(t.expiration) },
      );
    }
    const owner = governanceOwner(governance);
    const kms = config.kms;
    governed(
      ContractProxy,
      "kms-proxy",
      { resource: "kms", properties: "proxy" },
      { proxy: kms.proxy, implementation: kms.implementation, owner: kms.owner ?? owner },
    );
    governed(
      KmsPolicy,
      "kms-policy",
      { resource: "kms", properties: "policy" },
      {
        osImages: kms.osImages,
        aggregatedMrs: kms.aggregatedMrs,
        devices: kms.devices,
        gatewayAppId: kms.gatewayAppId,
        appImplementation: kms.appImplementation,
        info: kms.info,
      },
    );
    for (const app of config.apps) {
      const resource = `app:${app.name}` as const;
      governed(
        ContractProxy,
        `${app.name}-proxy`,
        { resource, properties: "proxy" },
        { proxy: app.proxy, implementation: app.implementation, owner: app.owner ?? owner },
      );
      governed(
        AppPolicy,
        `${app.name}-policy`,
        { resource, properties: "policy" },
        {
          composeHashes: app.composeHashes,
          devices: app.devices,
          allowAnyDevice: app.allowAnyDevice,
          ...(app.requireTcbUpToDate !== undefined ? { requireTcbUpToDate: app.requireTcbUpToDate } : {}),
        },
      );
    }

    if (inspection.live.timelock?.kind === "openzeppelin" && governance.mode === "safe+timelock") {
      pulumi.log.info(
        `timelock ${inspection.live.timelock.address} is a stock OpenZeppelin TimelockController: its ${formatDuration(governance.timelock.expiration)} expiration is enforced by this tool (gov execute and pulumi up refuse an expired operation, the next proposal cancels it), not by the contract`,
        this,
      );
    }
    for (const finding of inspection.findings.warnings) pulumi.log.warn(`policy: ${describeFinding(finding)}`, this);
    for (const note of inspection.unmanaged) pulumi.log.info(note, this);
    for (const error of inspection.unreadable) pulumi.log.warn(`refused proposal file: ${error.message}`, this);
    for (const { proposal, status } of inspection.proposals.filter((t) => isInFlight(t.status))) {
      pulumi.log.info(
        `in flight: proposal ${proposal.id} (Safe nonce ${proposal.safe.nonce}) is ${describeStatus(status)}: ${proposal.calls.map((c) => c.description).join("; ")}`,
        this,
      );
    }
    for (const operation of inspection.unfiled) pulumi.log.warn(describeUnfiled(stack, operation), this);
    this.registerOutputs({});
  }
}
