import type { Address } from "viem";
import type { LiveState } from "../chain/read-state";
import { formatDuration } from "../config/duration";
import { governanceOwner, policyOf, type StackConfig } from "../config/schema";
import type { ProposalFile } from "../proposal/types";
import type { Finding } from "./findings";
import type { StateAfter } from "./state-after";

/** The addresses that may own a governed contract: the timelock, the Safe, or the direct-mode admin. */
export function governanceAddresses(config: StackConfig): Address[] {
  const g = config.governance;
  return g.mode === "direct" ? [g.admin] : g.mode === "safe" ? [g.safe.address] : [g.timelock.address, g.safe.address];
}

const AFTER = " (after the proposal)";

/** What the stack declares, and (when given) what a proposal would leave: each rail is an error on every tier. */
export function railFindings(config: StackConfig, after?: StateAfter): Finding[] {
  const policy = policyOf(config);
  const findings: Finding[] = [];
  const emptyOsImages = (suffix: string) => ({
    rule: "rail.empty-os-images",
    path: `kms.osImages${suffix}`,
    message: "the OS image set would be empty: no CVM could boot",
    fix: "keep at least one OS image in kms.osImages, or set policy.allowEmptyOsImages: true",
  });
  if (!policy.allowEmptyOsImages) {
    if (config.kms.osImages.length === 0) findings.push(emptyOsImages(""));
    else if (after && after.osImages.length === 0) findings.push(emptyOsImages(AFTER));
  }
  config.apps.forEach((app, i) => {
    if (app.allowEmptyComposeHashes) return;
    const empty = (suffix: string) => ({
      rule: "rail.empty-compose-hashes",
      path: `apps[${i}].composeHashes${suffix}`,
      message: `app ${app.name}'s compose hash set would be empty: the app could not boot`,
      fix: `keep at least one compose hash, or set apps[${i}].allowEmptyComposeHashes: true`,
    });
    if (app.composeHashes.length === 0) findings.push(empty(""));
    else if (after && (after.composeHashes[app.name] ?? []).length === 0) findings.push(empty(AFTER));
  });

  if (after?.safe && after.safe.owners.length === 0) {
    findings.push({
      rule: "rail.last-owner",
      path: `governance.safe.owners${AFTER}`,
      message: "the proposal removes the Safe's last owner",
      fix: "keep at least one owner in governance.safe.owners",
    });
  } else if (after?.safe && (after.safe.threshold < 1 || after.safe.threshold > after.safe.owners.length)) {
    findings.push({
      rule: "rail.threshold",
      path: `governance.safe.threshold${AFTER}`,
      message: `the proposal leaves threshold ${after.safe.threshold} with ${after.safe.owners.length} owners`,
      fix: `set governance.safe.threshold between 1 and ${after.safe.owners.length}`,
    });
  }

  if (!policy.allowOwnershipTransfer) {
    const allowed = governanceAddresses(config);
    const transferAway = (path: string, owner: Address) => ({
      rule: "rail.ownership-transfer",
      path,
      message: `hands the contract to ${owner}, which is not this stack's ${config.governance.mode === "direct" ? "admin" : "timelock or Safe"}: governance would lose it`,
      fix: `remove ${path.replace(AFTER, "")} (the default is ${governanceOwner(config.governance)}), or set policy.allowOwnershipTransfer: true`,
    });
    const declared = [
      { path: "kms.owner", resource: "kms", owner: config.kms.owner },
      ...config.apps.map((app, i) => ({ path: `apps[${i}].owner`, resource: `app:${app.name}`, owner: app.owner })),
    ];
    for (const d of declared) {
      if (d.owner && !allowed.includes(d.owner)) findings.push(transferAway(d.path, d.owner));
      else if (after?.owners[d.resource] && !allowed.includes(after.owners[d.resource]))
        findings.push(transferAway(`${d.path}${AFTER}`, after.owners[d.resource]));
    }
  }
  return findings;
}

/** The built proposal must schedule with at least the timelock's own delay: the timelock is never shortened. */
export function scheduleDelayFindings(proposal: ProposalFile, live: LiveState): Finding[] {
  if (!proposal.timelock?.targets.length || !live.timelock) return [];
  const delay = BigInt(proposal.timelock.delay);
  if (delay >= live.timelock.delay) return [];
  return [
    {
      rule: "rail.schedule-delay",
      path: "timelock.delay (proposal)",
      message: `the proposal schedules with ${formatDuration(delay)}, below the timelock's own ${formatDuration(live.timelock.delay)}`,
      fix: "regenerate the proposal (pulumi up): it schedules with the timelock's live delay",
    },
  ];
}
