import * as pulumi from "@pulumi/pulumi";
import { formatDuration } from "../src/config/duration";
import { governanceOwner, type StackConfig } from "../src/config/schema";
import { describeFinding } from "../src/policy/findings";
import { describeStatus, isInFlight } from "../src/proposal/status";
import { awaitingSafeExecution } from "../src/reconcile/execution";
import type { Inspection } from "../src/reconcile/reconcile";
import { callsFor, type ResourceSlot } from "./inputs";
import { AppPolicy, ContractProxy, GovernanceProposal, GovernanceSafe, KmsPolicy, Timelock } from "./resources";

export interface DstackGovernanceArgs {
  stack: string;
  root: string;
  config: StackConfig;
  /** Live state, plan and in-flight proposals, read once when the program starts. */
  inspection: Inspection;
}

/** Wires the governed resources of one stack from its validated config and its live inspection. */
export class DstackGovernance extends pulumi.ComponentResource {
  readonly proposal: GovernanceProposal;

  constructor(name: string, args: DstackGovernanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dstack:governance:DstackGovernance", name, {}, opts);
    const { stack, root, config, inspection } = args;
    // Calls already carried by an in-flight proposal are not pending: they are on their way.
    const uncovered = inspection.coveredBy ? [] : inspection.calls;
    const pending = (slot: ResourceSlot) => callsFor(uncovered, slot).map((c) => c.description);
    const child = { parent: this };
    const common = { stack, root };
    const resources: pulumi.Resource[] = [];
    const governance = config.governance;

    if (governance.mode !== "direct") {
      resources.push(
        new GovernanceSafe(
          "safe",
          {
            ...common,
            resource: "safe",
            declared: {
              address: governance.safe.address,
              owners: governance.safe.owners,
              threshold: governance.safe.threshold,
            },
            pending: pending({ resource: "safe", properties: "all" }),
          },
          child,
        ),
      );
    }
    if (governance.mode === "safe+timelock") {
      const t = governance.timelock;
      resources.push(
        new Timelock(
          "timelock",
          {
            ...common,
            resource: "timelock",
            declared: { address: t.address, delay: formatDuration(t.delay), expiration: formatDuration(t.expiration) },
            pending: pending({ resource: "timelock", properties: "all" }),
          },
          child,
        ),
      );
    }
    const owner = governanceOwner(governance);
    const kms = config.kms;
    resources.push(
      new ContractProxy(
        "kms-proxy",
        {
          ...common,
          resource: "kms",
          declared: { proxy: kms.proxy, implementation: kms.implementation, owner: kms.owner ?? owner },
          pending: pending({ resource: "kms", properties: "proxy" }),
        },
        child,
      ),
      new KmsPolicy(
        "kms-policy",
        {
          ...common,
          resource: "kms",
          declared: {
            osImages: kms.osImages,
            aggregatedMrs: kms.aggregatedMrs,
            devices: kms.devices,
            gatewayAppId: kms.gatewayAppId,
            appImplementation: kms.appImplementation,
            info: kms.info,
          },
          pending: pending({ resource: "kms", properties: "policy" }),
        },
        child,
      ),
    );
    for (const app of config.apps) {
      const resource = `app:${app.name}` as const;
      resources.push(
        new ContractProxy(
          `${app.name}-proxy`,
          {
            ...common,
            resource,
            declared: { proxy: app.proxy, implementation: app.implementation, owner: app.owner ?? owner },
            pending: pending({ resource, properties: "proxy" }),
          },
          child,
        ),
        new AppPolicy(
          `${app.name}-policy`,
          {
            ...common,
            resource,
            declared: {
              composeHashes: app.composeHashes,
              devices: app.devices,
              allowAnyDevice: app.allowAnyDevice,
              ...(app.requireTcbUpToDate !== undefined ? { requireTcbUpToDate: app.requireTcbUpToDate } : {}),
            },
            pending: pending({ resource, properties: "policy" }),
          },
          child,
        ),
      );
    }
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
        root,
        mode: governance.mode,
        calls: uncovered.map((c) => c.description),
        executable,
        executeThroughSafe,
      },
      { parent: this, dependsOn: resources },
    );

    if (inspection.live.timelock?.kind === "openzeppelin" && governance.mode === "safe+timelock") {
      pulumi.log.info(
        `timelock ${inspection.live.timelock.address} is a stock OpenZeppelin TimelockController: its ${formatDuration(governance.timelock.expiration)} expiration is enforced by this tool (gov execute and pulumi up refuse an expired operation, the next proposal cancels it), not by the contract`,
        this,
      );
    }
    for (const finding of inspection.findings.warnings) pulumi.log.warn(`policy: ${describeFinding(finding)}`, this);
    for (const note of inspection.unmanaged) pulumi.log.info(note, this);
    for (const { proposal, status } of inspection.proposals.filter((t) => isInFlight(t.status))) {
      pulumi.log.info(
        `in flight: proposal ${proposal.id} (Safe nonce ${proposal.safe.nonce}) is ${describeStatus(status)}: ${proposal.calls.map((c) => c.description).join("; ")}`,
        this,
      );
    }
    this.registerOutputs({});
  }
}
