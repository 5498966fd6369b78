import type { PublicClient } from "viem";
import type { LiveState } from "../chain/read-state";
import { policyOf, type StackConfig } from "../config/schema";
import type { PlannedCall } from "../plan/types";
import type { ProposalFile } from "../proposal/types";
import { checkPolicy } from "./check";
import { proveConvergence } from "./convergence";
import { PolicyError, type PolicyFindings } from "./findings";
import { checkPromotion, type PromotionSource } from "./promotion";
import { scheduleDelayFindings } from "./rails";
import { checkUpgrades } from "./upgrade-checks";

interface GatedStack {
  name: string;
  config: StackConfig;
  client: PublicClient;
}

/** Everything knowable from this stack's own chain: policy, rails and upgrade pre-checks. Reads only. */
export async function inspectPolicy(
  stack: GatedStack,
  live: LiveState,
  calls: readonly PlannedCall[],
): Promise<PolicyFindings> {
  const findings = checkPolicy(stack.config, live, calls);
  return {
    ...findings,
    errors: [...findings.errors, ...(await checkUpgrades(stack.client, stack.config, live, calls))],
  };
}

async function openPromotionSource(
  name: string,
  openSource: (name: string) => Promise<PromotionSource>,
): Promise<PromotionSource> {
  try {
    return await openSource(name);
  } catch (error) {
    throw new Error(
      `policy.promotion.fromStack: cannot open stack ${name} to promote from: ${(error as Error).message}`,
    );
  }
}

/** Refuses (PolicyError) before anything is built or written: the inspection's errors plus the promotion gate. */
export async function assertProposable(
  stack: GatedStack,
  live: LiveState,
  calls: readonly PlannedCall[],
  findings: PolicyFindings,
  openSource: (name: string) => Promise<PromotionSource>,
): Promise<void> {
  const promotion = policyOf(stack.config).promotion;
  const gate =
    promotion && calls.length
      ? await checkPromotion({ ...stack, live }, await openPromotionSource(promotion.fromStack, openSource), calls)
      : [];
  const errors = [...findings.errors, ...gate];
  if (errors.length) throw new PolicyError(errors);
}

/**
 * Checks the built proposal (schedule delay; with `proveConvergence`, a fork run that must end in
 * an empty plan) and records what the signers must know: the overrides used and the proof.
 */
export async function sealProposal(
  proposal: ProposalFile,
  stack: GatedStack,
  live: LiveState,
  findings: PolicyFindings,
  options: { proveConvergence?: boolean },
): Promise<ProposalFile> {
  const delay = scheduleDelayFindings(proposal, live);
  if (delay.length) throw new PolicyError(delay);
  const prove = options.proveConvergence ?? policyOf(stack.config).proveConvergence;
  const result = prove
    ? await proveConvergence({ config: stack.config, live, proposal, client: stack.client })
    : undefined;
  if (result && !result.converged) {
    throw new Error(
      `convergence proof failed: after proposal ${proposal.id} ran on a fork at block ${live.blockNumber}, the plan still has:\n${result.remaining.map((d) => `  - ${d}`).join("\n")}\nfix: the config asks for something these calls cannot reach; split or correct the change`,
    );
  }
  return {
    ...proposal,
    ...(findings.overrides.length ? { overrides: findings.overrides } : {}),
    ...(result ? { convergence: result.proof } : {}),
  };
}
