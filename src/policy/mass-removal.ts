import type { Hex } from "viem";
import type { LiveState } from "../chain/read-state";
import type { StackConfig } from "../config/schema";
import type { PlannedCall } from "../plan/types";
import type { Finding } from "./findings";

interface GovernedSet {
  path: string;
  resource: string;
  property: string;
  live: readonly Hex[];
}

function governedSets(config: StackConfig, live: LiveState): GovernedSet[] {
  const kms = ["osImages", "aggregatedMrs", "devices"] as const;
  const app = ["composeHashes", "devices"] as const;
  return [
    ...kms.map((property) => ({ path: `kms.${property}`, resource: "kms", property, live: live.kms[property] })),
    ...config.apps.flatMap((a, i) => {
      const state = live.apps.find((s) => s.name === a.name);
      return state
        ? app.map((property) => ({
            path: `apps[${i}].${property}`,
            resource: `app:${a.name}`,
            property,
            live: state[property],
          }))
        : [];
    }),
  ];
}

/**
 * A set that shrinks by more than half in one proposal is more often a config mistake (a list
 * cut short, a key renamed) than a decision: it needs a written override (rule set.mass-removal).
 * Replacements (add one, remove one) do not shrink the set and pass.
 */
export function massRemovalFindings(config: StackConfig, live: LiveState, calls: readonly PlannedCall[]): Finding[] {
  return governedSets(config, live).flatMap((set) => {
    if (set.live.length === 0) return [];
    const ofSet = calls.filter((c) => c.resource === set.resource && c.property === set.property);
    const removed = ofSet.filter((c) => c.revokes).length;
    const added = ofSet.length - removed;
    if (removed - added <= set.live.length / 2) return [];
    return [
      {
        rule: "set.mass-removal",
        path: set.path,
        message: `the proposal removes ${removed} of the ${set.live.length} members on chain${added ? ` (adding ${added})` : ""}`,
        fix: `check ${set.path} lists every member to keep, or add policy.overrides: [{ rule: "set.mass-removal", reason: "<why>" }]`,
      },
    ];
  });
}
