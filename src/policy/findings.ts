import type { OverridableRule } from "../config/schema";
import { describeProblem, GovernanceError } from "../errors";

/** One policy problem: which rule, where in the config or plan, what is wrong and how to fix it. */
export interface Finding {
  /** A stable id, e.g. "threshold.ratio" or "rail.empty-os-images"; overrides name it. */
  rule: string;
  /** The config field (or plan call) it is about, e.g. "governance.safe.threshold". */
  path: string;
  message: string;
  fix: string;
}

/** A violation let through by a written override; recorded in the proposal. */
export interface AppliedOverride {
  rule: OverridableRule;
  reason: string;
}

export interface PolicyFindings {
  /** Block a proposal: nothing is written or sent while any remain. */
  errors: Finding[];
  /** Shown by preview; never block. */
  warnings: Finding[];
  overrides: AppliedOverride[];
}

export function describeFinding(finding: Finding): string {
  return describeProblem({ path: finding.path, message: `${finding.message} [${finding.rule}]`, fix: finding.fix });
}

export class PolicyError extends GovernanceError {
  constructor(readonly findings: Finding[]) {
    super(
      "policy",
      "refusing to propose, the policy forbids it",
      findings.map((f) => ({ path: f.path, message: `${f.message} [${f.rule}]`, fix: f.fix })),
    );
    this.name = "PolicyError";
  }
}
