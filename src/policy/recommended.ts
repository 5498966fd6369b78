import type { Address } from "viem";
import { formatDuration } from "../config/duration";
import type { GovernanceMode, StackConfig } from "../config/schema";
import type { Finding } from "./findings";

const HOUR = 3600n;
const DAY = 86400n;

/** The seed's recommended configuration, per tier. */
export const RECOMMENDED = {
  production: {
    signers: { min: 5, max: 7 },
    minOrganisations: 2,
    delay: { min: 24n * HOUR, max: 72n * HOUR },
    expiration: { min: 7n * DAY, max: 14n * DAY },
  },
  "non-production": {
    signers: { min: 2, max: 3 },
    minOrganisations: 1,
    delay: { min: 1n * HOUR, max: 4n * HOUR },
    expiration: { min: 3n * DAY, max: 7n * DAY },
  },
} as const;

/** Threshold at least 2/3 of the owners, on every tier. */
export function minThreshold(owners: number): number {
  return Math.ceil((2 * owners) / 3);
}

/** The governance parameters the recommendation is about, from the config or from the chain after a proposal. */
export interface GovernanceShape {
  mode: GovernanceMode;
  safe?: { address: Address; owners: { address: Address; org?: string }[]; threshold: number };
  timelock?: { address: Address; delay: bigint; expiration: bigint };
  /** Contracts owned by the Safe although a timelock exists: their changes skip the delay. */
  safeOwned: { path: string; contract: string }[];
}

type Tier = StackConfig["network"]["tier"];
const range = (r: { min: bigint; max: bigint }) => `${formatDuration(r.min)} to ${formatDuration(r.max)}`;
const overrideHint = (rule: string) => `or add policy.overrides: [{ rule: "${rule}", reason: "<why>" }]`;

/**
 * The recommendation checks, each finding named by its rule. `suffix` tells the reader whether the
 * config or the state a proposal leaves on chain is meant.
 */
export function recommendationFindings(tier: Tier, shape: GovernanceShape, suffix = ""): Finding[] {
  const r = RECOMMENDED[tier];
  const findings: Finding[] = [];
  const add = (rule: string, path: string, message: string, fix: string) =>
    findings.push({ rule, path: `${path}${suffix}`, message, fix: `${fix}, ${overrideHint(rule)}` });

  if (shape.mode !== "safe+timelock") {
    add(
      "timelock.bypass",
      "governance.mode",
      `mode ${shape.mode} has no timelock: changes take effect as soon as they are sent, with no time to react`,
      `use mode safe+timelock with a ${range(r.delay)} delay`,
    );
  }
  for (const owned of shape.safeOwned) {
    add(
      "timelock.bypass",
      owned.path,
      `${owned.contract} is owned by the Safe directly: its changes skip the timelock`,
      `remove ${owned.path} so the timelock owns it`,
    );
  }
  if (!shape.safe) {
    add(
      "signers.count",
      "governance.mode",
      "direct mode has no Safe: one admin key governs alone",
      `use a Safe with ${r.signers.min} to ${r.signers.max} signers`,
    );
  } else {
    const { owners, threshold } = shape.safe;
    if (owners.length < r.signers.min || owners.length > r.signers.max) {
      add(
        "signers.count",
        "governance.safe.owners",
        `${owners.length} signers; a ${tier} stack should have ${r.signers.min} to ${r.signers.max}`,
        `declare ${r.signers.min} to ${r.signers.max} owners`,
      );
    }
    const orgs = [...new Set(owners.map((o) => o.org).filter((org): org is string => org !== undefined))].sort();
    if (orgs.length < r.minOrganisations) {
      add(
        "signers.organisations",
        "governance.safe.owners",
        `signers come from ${orgs.length} organisation(s) (${orgs.join(", ") || "none known"}); a ${tier} stack needs at least ${r.minOrganisations}`,
        `add signers from another organisation (owners[].org)`,
      );
    }
    if (threshold < minThreshold(owners.length)) {
      add(
        "threshold.ratio",
        "governance.safe.threshold",
        `threshold ${threshold} of ${owners.length} is below 2/3`,
        `raise governance.safe.threshold to at least ${minThreshold(owners.length)}`,
      );
    }
  }
  if (shape.timelock) {
    const { delay, expiration } = shape.timelock;
    if (delay < r.delay.min || delay > r.delay.max) {
      add(
        "timelock.delay",
        "governance.timelock.delay",
        `delay ${formatDuration(delay)} is outside the ${tier} range ${range(r.delay)}`,
        `set governance.timelock.delay to ${range(r.delay)}`,
      );
    }
    if (expiration < r.expiration.min || expiration > r.expiration.max) {
      add(
        "timelock.expiration",
        "governance.timelock.expiration",
        `expiration window ${formatDuration(expiration)} is outside the ${tier} range ${range(r.expiration)}`,
        `set governance.timelock.expiration to ${range(r.expiration)}`,
      );
    }
  }
  return findings;
}
