// The SDK's parts, not its index: the index also loads the Automation API, a second a failing preview would wait for.
import { Config } from "@pulumi/pulumi/config";
import { RunError } from "@pulumi/pulumi/errors";
import * as log from "@pulumi/pulumi/log";
import { getRootDirectory, getStack } from "@pulumi/pulumi/metadata";
import { measureByCommand } from "./components/measurements";
import { SECTIONS } from "./src/config/schema";
import { GovernanceError, renderError } from "./src/errors";
import { MeasurementError, type MeasuredByCommand } from "./src/measurements/resolve";
import { PolicyError } from "./src/policy/findings";
import type { Inspection } from "./src/reconcile/reconcile";
import { openStack, type Stack } from "./src/reconcile/stack";

const KEY_NAMES = ["proposerKey", "executorKey", "adminKey", "deployerKey"] as const;

/** The stack program: config → live state → plan, then the governed resources and ONE proposal. */
export = async () => {
  const config = new Config();
  const stack = getStack();
  const root = getRootDirectory();
  const rawConfig = Object.fromEntries(SECTIONS.map((section) => [section, config.getObject(section)]));
  let opened: Stack;
  let inspection: Inspection;
  let measured: MeasuredByCommand;
  try {
    measured = await measureByCommand(rawConfig, root);
    opened = await openStack({ name: stack, root, rawConfig, measured });
    // The planner, policy and proposal code load only for a valid config and a chain that answers.
    const { inspectStack } = await import("./src/reconcile/reconcile");
    inspection = await inspectStack(opened);
    if (inspection.findings.errors.length) throw new PolicyError(inspection.findings.errors);
  } catch (error) {
    // A clear message instead of a stack trace: bad config or an unreachable RPC is not a crash.
    const message =
      error instanceof MeasurementError
        ? error.message
        : error instanceof GovernanceError
          ? renderError(error)
          : `stack ${stack}: ${renderError(error, { oneLine: true })}`;
    const failure = new RunError(message);
    // Pulumi also logs a failed program's error through util.inspect, which source-maps each stack
    // frame (seconds and gigabytes under Node 20): a stack that is just the message skips that.
    failure.stack = message;
    throw failure;
  }
  for (const notice of opened.scans.notices) log.warn(notice);
  const { DstackGovernance } = await import("./components/governance");
  const governance = new DstackGovernance("governance", {
    stack,
    config: opened.config,
    inspection,
    implementations: opened.implementations,
    measured,
    rawConfig,
    keys: Object.fromEntries(
      KEY_NAMES.flatMap((name) => {
        const value = config.getSecret(name);
        return value === undefined ? [] : [[name, value]];
      }),
    ),
  });
  // Only what changes with the config or a `pulumi up`: an in-sync preview shows no output diff.
  return {
    chainId: opened.config.network.chainId,
    kms: opened.config.kms.proxy,
    apps: Object.fromEntries(opened.config.apps.map((a) => [a.name, a.proxy])),
    safe: inspection.live.safe?.address,
    timelock: inspection.live.timelock?.address,
    proposals: governance.proposal.proposals,
    nextSteps: governance.proposal.nextSteps,
  };
};
