import type { LiveState } from "../chain/read-state";
import { policyOf, safeChangeRoute, type StackConfig } from "../config/schema";
import type { PlannedCall } from "../plan/types";
import type { AppliedOverride, Finding, PolicyFindings } from "./findings";
import { massRemovalFindings } from "./mass-removal";
import { railFindings } from "./rails";
import { recommendationFindings, type GovernanceShape } from "./recommended";
import { stateAfter, type StateAfter } from "./state-after";

function declaredShape(config: StackConfig): GovernanceShape {
  const g = config.governance;
  const safeAddress = g.mode === "direct" ? undefined : g.safe.address;
  return {
    mode: g.mode,
    safe: g.mode === "direct" ? undefined : g.safe,
    timelock: g.mode === "safe+timelock" ? g.timelock : undefined,
    safeOwned:
      g.mode === "safe+timelock"
        ? [
            ...(config.kms.owner === safeAddress ? [{ path: "kms.owner", contract: "the KMS" }] : []),
            ...config.apps.flatMap((app, i) =>
              app.owner === safeAddress ? [{ path: `apps[${i}].owner`, contract: `app ${app.name}` }] : [],
            ),
          ]
        : [],
  };
}

/** Signers' organisations are not on chain: they come from the config, by address. */
function shapeAfter(config: StackConfig, after: StateAfter): GovernanceShape {
  const g = config.governance;
  const orgOf = (address: string) =>
    g.mode === "direct" ? undefined : g.safe.owners.find((o) => o.address === address)?.org;
  const paths: Record<string, { path: string; contract: string }> = {
    kms: { path: "kms.owner", contract: "the KMS" },
    ...Object.fromEntries(
      config.apps.map((app, i) => [`app:${app.name}`, { path: `apps[${i}].owner`, contract: `app ${app.name}` }]),
    ),
  };
  return {
    mode: g.mode,
    safe: after.safe && {
      address: after.safe.address,
      owners: after.safe.owners.map((address) => ({ address, org: orgOf(address) })),
      threshold: after.safe.threshold,
    },
    // A stock timelock's expiration is the declared one, enforced by this tool.
    timelock: after.timelock && {
      ...after.timelock,
      expiration: after.timelock.expiration ?? (g.mode === "safe+timelock" ? g.timelock.expiration : 0n),
    },
    safeOwned:
      after.timelock && after.safe
        ? Object.entries(after.owners)
            .filter(([resource, owner]) => owner === after.safe!.address && paths[resource])
            .map(([resource]) => paths[resource])
        : [],
  };
}

/** An admin of the timelock other than the timelock itself can grant itself every role: the delay would mean nothing. */
function outsideAdminFindings(config: StackConfig): Finding[] {
  const g = config.governance;
  if (g.mode !== "safe+timelock" || !g.timelock.admins?.length) return [];
  return [
    {
      rule: "timelock.outside-admin",
      path: "governance.timelock.admins",
      message: `${g.timelock.admins.join(", ")} would keep the timelock's admin role: it can grant itself proposer and executor and skip the delay`,
      fix: "remove governance.timelock.admins so the next proposal revokes them (the timelock stays its own admin)",
    },
  ];
}

const IMMEDIATE_SAFE_CHANGE =
  "Safe signer and threshold changes take effect IMMEDIATELY when the Safe transaction executes, without the timelock delay";
const SAFE_OWNER_FUNCTIONS = ["addOwnerWithThreshold", "removeOwner", "swapOwner", "changeThreshold"];

/**
 * The immediate route of Safe signer changes: on production a choice that needs a written override;
 * on any tier, a loud warning whenever the plan makes such a change.
 */
function immediateSafeChangeFindings(
  config: StackConfig,
  calls: readonly PlannedCall[],
): { declared: Finding[]; planned: Finding[] } {
  if (safeChangeRoute(config) !== "immediate") return { declared: [], planned: [] };
  const path = "governance.timelock.safeChanges";
  const fix = `set ${path}: through-timelock (the timelock becomes a Safe module and schedules them)`;
  const immediate = calls.filter((c) => c.sender === c.to && SAFE_OWNER_FUNCTIONS.includes(c.functionName));
  return {
    declared:
      config.network.tier === "production"
        ? [
            {
              rule: "signers.immediate",
              path,
              message: `${IMMEDIATE_SAFE_CHANGE}: a production stack routes them through the timelock`,
              fix: `${fix}, or add policy.overrides: [{ rule: "signers.immediate", reason: "<why>" }]`,
            },
          ]
        : [],
    planned: immediate.length
      ? [
          {
            rule: "signers.immediate",
            path,
            message: `${IMMEDIATE_SAFE_CHANGE}: ${immediate.map((c) => c.description).join("; ")}`,
            fix,
          },
        ]
      : [],
  };
}

/**
 * The stack's policy on its declared config and, given the live state and the planned calls, on
 * the state the calls would leave on chain. Recommendation violations are errors on a production
 * stack and warnings elsewhere, unless a written override accepts them; rails are always errors.
 */
export function checkPolicy(config: StackConfig, live?: LiveState, calls: readonly PlannedCall[] = []): PolicyFindings {
  const after = live && stateAfter(live, calls);
  const declared = recommendationFindings(config.network.tier, declaredShape(config));
  // The chain after the proposal only adds what the config does not already show.
  const onChain = after
    ? recommendationFindings(config.network.tier, shapeAfter(config, after), " (after the proposal)").filter(
        (f) => !declared.some((d) => d.rule === f.rule),
      )
    : [];
  const safeChanges = immediateSafeChangeFindings(config, calls);
  const recommendations = [...declared, ...onChain, ...safeChanges.declared];
  // Errors on every tier unless overridden.
  const massRemovals = live ? massRemovalFindings(config, live, calls) : [];

  const policy = policyOf(config);
  const overriddenRules = new Set<string>(policy.overrides.map((o) => o.rule));
  const overridden = [...recommendations, ...massRemovals].filter((f) => overriddenRules.has(f.rule));
  const open = recommendations.filter((f) => !overriddenRules.has(f.rule));
  const overrides: AppliedOverride[] = policy.overrides.filter((o) => overridden.some((f) => f.rule === o.rule));
  const unused: Finding[] = policy.overrides.flatMap((o, i) =>
    overrides.includes(o)
      ? []
      : [
          {
            rule: "policy.overrides",
            path: `policy.overrides[${i}]`,
            message: `rule ${o.rule} is overridden but the stack meets it`,
            fix: "remove the override so a later violation is not let through silently",
          },
        ],
  );

  const production = config.network.tier === "production";
  const rails = railFindings(config, after);
  const admins = outsideAdminFindings(config);
  return {
    errors: [
      ...(production ? open : []),
      ...massRemovals.filter((f) => !overriddenRules.has(f.rule)),
      ...rails,
      ...(production ? admins : []),
    ],
    warnings: [...(production ? [] : open), ...unused, ...(production ? [] : admins), ...safeChanges.planned],
    overrides,
  };
}
