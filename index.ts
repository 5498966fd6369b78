import * as pulumi from "@pulumi/pulumi";
import { DstackGovernance } from "./components/governance";
import { SECTIONS } from "./src/config/stack-file";
import { GovernanceError, renderError } from "./src/errors";
import { PolicyError } from "./src/policy/findings";
import { describeStatus } from "./src/proposal/status";
import { inspectStack, openStack, type Inspection, type Stack } from "./src/reconcile/reconcile";

/** The stack program: config → live state → plan, then the governed resources and ONE proposal. */
export = async () => {
  const config = new pulumi.Config();
  const stack = pulumi.getStack();
  const root = pulumi.getRootDirectory();
  const rawConfig = Object.fromEntries(SECTIONS.map((section) => [section, config.getObject(section)]));
  let opened: Stack;
  let inspection: Inspection;
  try {
    opened = await openStack({ name: stack, root, rawConfig });
    inspection = await inspectStack(opened);
    if (inspection.findings.errors.length) throw new PolicyError(inspection.findings.errors);
  } catch (error) {
    // A clear message instead of a stack trace: bad config or an unreachable RPC is not a crash.
    const message =
      error instanceof GovernanceError
        ? renderError(error)
        : `stack ${stack}: ${renderError(error, { oneLine: true })}`;
    throw new pulumi.RunError(message);
  }
  for (const notice of opened.scans.notices) pulumi.log.warn(notice);
  const governance = new DstackGovernance("governance", { stack, root, config: opened.config, inspection });
  return {
    chainId: opened.config.network.chainId,
    block: inspection.live.blockNumber.toString(),
    kms: opened.config.kms.proxy,
    apps: Object.fromEntries(opened.config.apps.map((a) => [a.name, a.proxy])),
    safe: inspection.live.safe?.address,
    timelock: inspection.live.timelock?.address,
    pendingChanges: (inspection.coveredBy ? [] : inspection.calls).map((c) => c.description),
    proposals: inspection.proposals.map(({ proposal, status }) => ({
      id: proposal.id,
      status: describeStatus(status),
    })),
    proposalId: governance.proposal.proposalId,
    nextSteps: governance.proposal.nextSteps,
  };
};
