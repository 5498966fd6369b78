import { getAddress, isAddress, zeroAddress, type Address } from "viem";
import type { LiveState, ProxyState, TimelockState } from "../src/chain/read-state";
import { formatDuration } from "../src/config/duration";
import type { StackConfig, StackConfigInput } from "../src/config/schema";

/** What gov import is told about a deployment: where things are, not what they hold. */
export interface DeploymentLocation {
  tier: "production" | "non-production";
  chainId: number;
  rpcUrl: string;
  /** Absent: searched for (the proxies' deployment block). */
  startBlock?: number;
  kms: Address;
  apps: { name: string; proxy: Address }[];
  governance:
    | { mode: "direct"; admin: Address }
    | { mode: "safe"; safe: Address }
    | { mode: "safe+timelock"; safe: Address; timelock: Address };
  /** The window this tool enforces on a stock timelock (which has none on chain), in seconds. */
  expiration: bigint;
}

export function parseAddress(what: string, text: string | undefined): Address {
  if (!text) throw new Error(`${what}: give an address`);
  if (!isAddress(text, { strict: false })) throw new Error(`${what}: "${text}" is not a 0x-prefixed 20-byte address`);
  return getAddress(text);
}

/** The network section of a located deployment. */
function networkOf(location: DeploymentLocation) {
  return {
    tier: location.tier,
    chainId: location.chainId,
    rpcUrls: [location.rpcUrl],
    startBlock: location.startBlock,
  };
}

/**
 * A config that only says where the contracts are, for readLiveState to read them: the sets are
 * empty (live members are found from events) and the Safe/timelock values are never compared.
 */
export function probeConfig(location: DeploymentLocation): StackConfig {
  const g = location.governance;
  const safe = (address: Address) => ({ address, owners: [], threshold: 0 });
  return {
    network: { ...networkOf(location), logScanConcurrency: 8 },
    governance:
      g.mode === "direct"
        ? g
        : g.mode === "safe"
          ? { mode: "safe", safe: safe(g.safe) }
          : {
              mode: "safe+timelock",
              safe: safe(g.safe),
              timelock: { address: g.timelock, kind: "expiring", delay: 0n, expiration: 0n, executors: "anyone" },
            },
    kms: { proxy: location.kms, osImages: [], aggregatedMrs: [], devices: [] },
    apps: location.apps.map((app) => ({ ...app, composeHashes: [], devices: [], allowAnyDevice: false })),
  };
}

function governanceOwnerOf(location: DeploymentLocation): Address {
  const g = location.governance;
  return g.mode === "direct" ? g.admin : g.mode === "safe" ? g.safe : g.timelock;
}

/**
 * Pinned implementation, and the owner only where it is not the governance owner (the default).
 * A two-step transfer to the governance owner in progress declares where it is going, so the first
 * plan has the governance owner's acceptOwnership; any other pending transfer is planned for cancelling.
 */
function proxyFields(live: ProxyState, governanceOwner: Address) {
  const owner = live.pendingOwner === governanceOwner ? governanceOwner : live.owner;
  return { proxy: live.proxy, implementation: live.implementation, ...(owner !== governanceOwner ? { owner } : {}) };
}

/** The timelock as it is: kind, delay, and role holders (written only where they differ from the defaults). */
function timelockFromLive(
  t: TimelockState,
  safe: Address,
  enforcedExpiration: bigint,
  timelockModule: boolean,
  tier: DeploymentLocation["tier"],
) {
  const onlySafe = (holders: Address[]) => holders.length === 1 && holders[0] === safe;
  const admins = t.roles.admin.filter((a) => a !== t.address);
  return {
    address: t.address,
    kind: t.kind,
    delay: formatDuration(t.delay),
    expiration: formatDuration(t.expiration ?? enforcedExpiration),
    executors:
      t.roles.executor.length === 1 && t.roles.executor[0] === zeroAddress ? ("anyone" as const) : t.roles.executor,
    ...(onlySafe(t.roles.proposer) ? {} : { proposers: t.roles.proposer }),
    ...(onlySafe(t.roles.canceller) ? {} : { cancellers: t.roles.canceller }),
    ...(admins.length ? { admins } : {}),
    // As the chain routes signer changes now (through the timelock once it is a Safe module), where the tier's default differs.
    ...(timelockModule !== (tier === "production")
      ? { safeChanges: timelockModule ? ("through-timelock" as const) : ("immediate" as const) }
      : {}),
  };
}

/** The stack config that declares exactly the live state: its plan is empty. Signers' orgs are not on chain: "unknown". */
export function configFromLive(location: DeploymentLocation, live: LiveState): StackConfigInput {
  const g = location.governance;
  const owner = governanceOwnerOf(location);
  const safe = live.safe && {
    address: live.safe.address,
    owners: live.safe.owners.map((address) => ({ address, org: "unknown" })),
    threshold: live.safe.threshold,
  };
  const timelock =
    live.timelock &&
    live.safe &&
    timelockFromLive(
      live.timelock,
      live.safe.address,
      location.expiration,
      live.safe.timelockModule === true,
      location.tier,
    );
  return {
    network: networkOf(location),
    governance:
      g.mode === "direct"
        ? g
        : g.mode === "safe"
          ? { mode: "safe", safe: safe! }
          : { mode: "safe+timelock", safe: safe!, timelock: timelock! },
    kms: {
      ...proxyFields(live.kms, owner),
      osImages: live.kms.osImages,
      aggregatedMrs: live.kms.aggregatedMrs,
      devices: live.kms.devices,
      gatewayAppId: live.kms.gatewayAppId,
      appImplementation: live.kms.appImplementation,
      info: live.kms.info,
    },
    apps: live.apps.map((app) => ({
      name: app.name,
      ...proxyFields(app, owner),
      composeHashes: app.composeHashes,
      devices: app.devices,
      allowAnyDevice: app.allowAnyDevice,
      ...(app.requireTcbUpToDate !== undefined ? { requireTcbUpToDate: app.requireTcbUpToDate } : {}),
    })),
  };
}
