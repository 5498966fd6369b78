import { getAddress, type Address, type PublicClient } from "viem";
import { dstackKmsAbi } from "../chain/abis";
import { IMPLEMENTATION_SLOT, type LiveState } from "../chain/read-state";
import type { StackConfig } from "../config/schema";
import type { PlannedCall } from "../plan/types";
import type { Finding } from "./findings";

/** Calls that point a proxy (or the KMS's app factory) at a new implementation. */
const IMPLEMENTATION_SETTERS = new Set(["upgradeToAndCall", "setAppImplementation"]);

/** The config field an implementation-setting call reconciles. */
export function implementationPath(config: StackConfig, call: PlannedCall): string {
  if (call.functionName === "setAppImplementation") return "kms.appImplementation";
  if (call.resource === "kms") return "kms.implementation";
  return `apps[${config.apps.findIndex((a) => `app:${a.name}` === call.resource)}].implementation`;
}

/** The new implementation must be a UUPS contract for this proxy kind: code, and the ERC-1967 slot as its proxiableUUID. */
async function implementationFindings(
  client: PublicClient,
  blockNumber: bigint,
  implementation: Address,
  path: string,
): Promise<Finding[]> {
  const code = await client.getCode({ address: implementation, blockNumber });
  if (!code || code === "0x") {
    return [
      {
        rule: "upgrade.no-code",
        path,
        message: `implementation ${implementation} has no code at block ${blockNumber}`,
        fix: `deploy the implementation first, or correct ${path}`,
      },
    ];
  }
  const uuid = await client
    .readContract({ address: implementation, abi: dstackKmsAbi, functionName: "proxiableUUID", blockNumber })
    .catch(() => undefined);
  if (uuid?.toLowerCase() === IMPLEMENTATION_SLOT) return [];
  return [
    {
      rule: "upgrade.proxiable-uuid",
      path,
      message: uuid
        ? `implementation ${implementation} reports proxiableUUID ${uuid}, not the ERC-1967 slot ${IMPLEMENTATION_SLOT}`
        : `implementation ${implementation} has no proxiableUUID(): it is not a UUPS implementation`,
      fix: `point ${path} at a UUPSUpgradeable implementation (OpenZeppelin v5)`,
    },
  ];
}

/** Pre-checks of every planned upgrade, at the plan's pinned block, with messages a reviewer can act on. */
export async function checkUpgrades(
  client: PublicClient,
  config: StackConfig,
  live: LiveState,
  calls: readonly PlannedCall[],
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const call of calls.filter((c) => IMPLEMENTATION_SETTERS.has(c.functionName))) {
    const path = implementationPath(config, call);
    const app = live.apps.find((a) => `app:${a.name}` === call.resource);
    if (call.functionName === "upgradeToAndCall" && app?.upgradesDisabled) {
      findings.push({
        rule: "upgrade.disabled",
        path,
        message: `app ${app.name} has upgrades permanently disabled (its private flag is set, by disableUpgrades() or at creation)`,
        fix: `remove ${path}: this app can never be upgraded; deploy a new app instead`,
      });
      continue;
    }
    findings.push(
      ...(await implementationFindings(client, live.blockNumber, getAddress(call.args[0] as Address), path)),
    );
  }
  return findings;
}
