import {
  getAbiItem,
  getAddress,
  zeroAddress,
  type Abi,
  type AbiEvent,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { dstackAppAbi, dstackAppTcbAbi, dstackKmsAbi, ownable2StepAbi, safeAbi, timelockAbi } from "../src/chain/abis";
import { scanLogs } from "../src/chain/logs";
import {
  APP_FLAGS_SLOT,
  IMPLEMENTATION_SLOT,
  TIMELOCK_ROLE_NAMES,
  TIMELOCK_ROLES,
  type AppState,
  type LiveState,
  type ProxyState,
  type TimelockRole,
} from "../src/chain/read-state";
import type { StackConfig } from "../src/config/schema";
import { safeVersionOf } from "../src/chain/safe-deployments";

/** Calls in flight at once: a naive reader still overlaps requests, it just never batches them. */
const CONCURRENT_CALLS = 16;

const kmsSets = [
  { field: "osImages", added: "OsImageHashAdded", getter: "allowedOsImages" },
  { field: "aggregatedMrs", added: "KmsAggregatedMrAdded", getter: "kmsAllowedAggregatedMrs" },
  { field: "devices", added: "KmsDeviceAdded", getter: "kmsAllowedDeviceIds" },
] as const;
const appSets = [
  { field: "composeHashes", added: "ComposeHashAdded", getter: "allowedComposeHashes" },
  { field: "devices", added: "DeviceAdded", getter: "allowedDeviceIds" },
] as const;

const scannedEvents: AbiEvent[] = [
  ...kmsSets.map((set) => getAbiItem({ abi: dstackKmsAbi, name: set.added }) as AbiEvent),
  ...appSets.map((set) => getAbiItem({ abi: dstackAppAbi, name: set.added }) as AbiEvent),
  getAbiItem({ abi: dstackAppAbi, name: "UpgradesDisabled" }) as AbiEvent,
  getAbiItem({ abi: timelockAbi, name: "RoleGranted" }) as AbiEvent,
];

async function inParallel<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * The baseline the engine is measured against: the same live state, read with one eth_call per
 * scalar getter and one per candidate item (every item an Added event names, plus every item the
 * config wants), at one pinned block, without Multicall3.
 */
export async function readLiveStateNaively(client: PublicClient, config: StackConfig): Promise<LiveState> {
  const {
    number: blockNumber,
    hash: blockHash,
    timestamp: blockTimestamp,
  } = await client.getBlock({ blockTag: "latest" });
  const read = <T>(address: Address, abi: Abi, functionName: string, args?: readonly unknown[]) =>
    client.readContract({ address, abi, functionName, args, blockNumber }) as Promise<T>;
  // Getters that older contract versions lack: a revert means "not there".
  const probe = <T>(address: Address, abi: Abi, functionName: string) =>
    read<T>(address, abi, functionName).catch(() => undefined);

  const proxies = [config.kms.proxy, ...config.apps.map((app) => app.proxy)];
  const timelockAddress = config.governance.mode === "safe+timelock" ? config.governance.timelock.address : undefined;
  const logs = await scanLogs<Record<string, Hex>>(client, {
    addresses: timelockAddress ? [...proxies, timelockAddress] : proxies,
    events: scannedEvents,
    fromBlock: BigInt(config.network.startBlock ?? 0),
    toBlock: blockNumber,
    maxRange: config.network.logChunkSize === undefined ? undefined : BigInt(config.network.logChunkSize),
  });
  const addedTo = (proxy: Address, eventName: string) =>
    logs
      .filter((log) => getAddress(log.address) === proxy && log.eventName === eventName)
      .map((log) => Object.values(log.args)[0].toLowerCase() as Hex);

  /** One getter call per candidate, in the engine's order (sorted), keeping the members. */
  const members = async (proxy: Address, abi: Abi, getter: string, added: string, desired: readonly Hex[]) => {
    const candidates = [...new Set([...addedTo(proxy, added), ...desired])].sort();
    const allowed = await inParallel(candidates, CONCURRENT_CALLS, (hash) => read<boolean>(proxy, abi, getter, [hash]));
    return candidates.filter((_, i) => allowed[i]);
  };
  const proxyState = async (proxy: Address, abi: Abi): Promise<ProxyState> => {
    const slot = await client.getStorageAt({ address: proxy, slot: IMPLEMENTATION_SLOT, blockNumber });
    const pendingOwner = await probe<Address>(proxy, ownable2StepAbi, "pendingOwner");
    return {
      proxy,
      implementation: getAddress(`0x${(slot ?? "0x").slice(-40).padStart(40, "0")}`),
      owner: await read<Address>(proxy, abi, "owner"),
      twoStepOwnership: pendingOwner !== undefined,
      pendingOwner: pendingOwner && pendingOwner !== zeroAddress ? pendingOwner : undefined,
    };
  };

  const kmsProxy = config.kms.proxy;
  const [k256Pubkey, caPubkey, quote, eventlog] = await read<readonly [Hex, Hex, Hex, Hex]>(
    kmsProxy,
    dstackKmsAbi,
    "kmsInfo",
  );
  const kmsProxyState = await proxyState(kmsProxy, dstackKmsAbi);
  const kms: LiveState["kms"] = {
    ...kmsProxyState,
    variant: kmsProxyState.twoStepOwnership ? "two-step" : "released",
    gatewayAppId: await read<string>(kmsProxy, dstackKmsAbi, "gatewayAppId"),
    appImplementation: await read<Address>(kmsProxy, dstackKmsAbi, "appImplementation"),
    info: { k256Pubkey, caPubkey, quote, eventlog },
    osImages: [],
    aggregatedMrs: [],
    devices: [],
  };
  for (const set of kmsSets)
    kms[set.field] = await members(kmsProxy, dstackKmsAbi, set.getter, set.added, config.kms[set.field] ?? []);

  const apps: AppState[] = [];
  for (const app of config.apps) {
    const requireTcbUpToDate = await probe<boolean>(app.proxy, dstackAppTcbAbi, "requireTcbUpToDate");
    const flags = BigInt(
      (await client.getStorageAt({ address: app.proxy, slot: APP_FLAGS_SLOT, blockNumber })) ?? "0x0",
    );
    const appProxyState = await proxyState(app.proxy, dstackAppAbi);
    const state: AppState = {
      name: app.name,
      ...appProxyState,
      variant: appProxyState.twoStepOwnership ? "two-step" : requireTcbUpToDate === undefined ? "legacy" : "released",
      allowAnyDevice: await read<boolean>(app.proxy, dstackAppAbi, "allowAnyDevice"),
      upgradesDisabled: (flags & 0xffn) === 1n,
      requireTcbUpToDate,
      composeHashes: [],
      devices: [],
    };
    for (const set of appSets)
      state[set.field] = await members(app.proxy, dstackAppAbi, set.getter, set.added, app[set.field] ?? []);
    apps.push(state);
  }

  const governance = config.governance;
  const safeAddress = governance.mode === "direct" ? undefined : governance.safe.address;
  const safe = safeAddress
    ? {
        address: safeAddress,
        owners: (await read<Address[]>(safeAddress, safeAbi, "getOwners")).map((o) => getAddress(o)),
        threshold: Number(await read<bigint>(safeAddress, safeAbi, "getThreshold")),
        nonce: await read<bigint>(safeAddress, safeAbi, "nonce"),
        version: safeVersionOf(await read<string>(safeAddress, safeAbi, "VERSION"), safeAddress),
        ...(timelockAddress
          ? { timelockModule: await read<boolean>(safeAddress, safeAbi, "isModuleEnabled", [timelockAddress]) }
          : {}),
      }
    : undefined;
  let timelock: LiveState["timelock"];
  if (governance.mode === "safe+timelock" && timelockAddress && safeAddress) {
    const t = governance.timelock;
    const expiration = await probe<bigint>(timelockAddress, timelockAbi, "expiration");
    const roleIds = {
      ...TIMELOCK_ROLES,
      admin: (await probe<Hex>(timelockAddress, timelockAbi, "TIMELOCK_ADMIN_ROLE")) ?? TIMELOCK_ROLES.admin,
    };
    const named = [
      safeAddress,
      timelockAddress,
      zeroAddress,
      ...(t.executors === "anyone" ? [] : t.executors),
      ...(t.proposers ?? []),
      ...(t.cancellers ?? []),
      ...(t.admins ?? []),
    ];
    const roles = {} as Record<TimelockRole, Address[]>;
    for (const role of TIMELOCK_ROLE_NAMES) {
      const granted = logs
        .filter(
          (log) =>
            getAddress(log.address) === timelockAddress &&
            log.eventName === "RoleGranted" &&
            log.args.role.toLowerCase() === roleIds[role],
        )
        .map((log) => log.args.account);
      const candidates = [...new Set([...named, ...granted].map((a) => getAddress(a)))].sort();
      const held = await inParallel(candidates, CONCURRENT_CALLS, (account) =>
        read<boolean>(timelockAddress, timelockAbi, "hasRole", [roleIds[role], account]),
      );
      roles[role] = candidates.filter((_, i) => held[i]);
    }
    timelock = {
      address: timelockAddress,
      kind: expiration === undefined ? "openzeppelin" : "expiring",
      delay: await read<bigint>(timelockAddress, timelockAbi, "getMinDelay"),
      expiration,
      roleIds,
      roles,
    };
  }
  return { chainId: client.chain!.id, blockNumber, blockHash, blockTimestamp, kms, apps, safe, timelock };
}
