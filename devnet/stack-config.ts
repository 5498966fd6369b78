import { formatDuration } from "../src/config/duration";
import type { StackConfigInput } from "../src/config/schema";
import { devAccounts } from "./accounts";
import {
  DEVNET_SAFE_THRESHOLD,
  DEVNET_TIMELOCK_DELAY,
  DEVNET_TIMELOCK_EXPIRATION,
  topologyMode,
  type DevnetDeployment,
} from "./deploy";

const SIGNER_ORGS = ["phala", "operator-a", "operator-b"];

/** The stack config that describes a fresh devnet exactly, so a first preview shows no changes. */
export function devnetStackConfig(deployment: DevnetDeployment): StackConfigInput {
  const safe = deployment.safe && {
    address: deployment.safe,
    owners: devAccounts.safeOwners.map((owner, i) => ({ address: owner.address, org: SIGNER_ORGS[i] })),
    threshold: DEVNET_SAFE_THRESHOLD,
  };
  const governance: StackConfigInput["governance"] =
    topologyMode(deployment.topology) === "direct"
      ? { mode: "direct", admin: devAccounts.admin.address }
      : topologyMode(deployment.topology) === "safe"
        ? { mode: "safe", safe: safe! }
        : {
            mode: "safe+timelock",
            safe: safe!,
            timelock: {
              address: deployment.timelock!,
              ...(deployment.topology === "documented"
                ? { kind: "openzeppelin" as const, executors: [deployment.safe!] }
                : {}),
              delay: formatDuration(DEVNET_TIMELOCK_DELAY),
              expiration: formatDuration(DEVNET_TIMELOCK_EXPIRATION),
            },
          };
  return {
    network: {
      tier: "non-production",
      chainId: deployment.chainId,
      rpcUrls: [deployment.rpcUrl],
      startBlock: Number(deployment.deployBlock),
    },
    governance,
    kms: {
      proxy: deployment.kms.proxy,
      implementation: deployment.kms.implementation,
      osImages: deployment.kms.osImages,
      aggregatedMrs: deployment.kms.aggregatedMrs,
      devices: deployment.kms.devices,
      gatewayAppId: deployment.kms.gatewayAppId,
      appImplementation: deployment.kms.appImplementation,
    },
    apps: deployment.apps.map((app) => ({
      name: app.name,
      proxy: app.proxy,
      composeHashes: app.composeHashes,
      devices: app.devices,
      allowAnyDevice: app.allowAnyDevice,
      requireTcbUpToDate: app.requireTcbUpToDate,
    })),
  };
}
