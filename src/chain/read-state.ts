import {
  getAbiItem,
  getAddress,
  keccak256,
  stringToHex,
  zeroAddress,
  zeroHash,
  type AbiEvent,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import type { StackConfig, TimelockKind } from "../config/schema";
import { dstackAppAbi, dstackAppOptionalAbi, dstackKmsAbi, ownable2StepAbi, safeAbi, timelockAbi } from "./abis";
import { scanLogs } from "./logs";
import { safeVersionOf, type SafeVersion } from "./safe-deployments";

/** ERC-1967 implementation slot: bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1). */
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc" as const;

/** OpenZeppelin's role ids are constants: no need to read them from the chain. */
export const TIMELOCK_ROLES = {
  proposer: keccak256(stringToHex("PROPOSER_ROLE")),
  canceller: keccak256(stringToHex("CANCELLER_ROLE")),
  executor: keccak256(stringToHex("EXECUTOR_ROLE")),
  /** OpenZeppelin 5.x; 4.x uses TIMELOCK_ADMIN_ROLE instead (read from the contract). */
  admin: zeroHash,
} as const;
export type TimelockRole = keyof typeof TIMELOCK_ROLES;
export const TIMELOCK_ROLE_NAMES = Object.keys(TIMELOCK_ROLES) as TimelockRole[];

/** Multicall3 batches of this many calls keep each eth_call far below block gas limits. */
const CALLS_PER_MULTICALL = 500;

export interface KmsInfo {
  k256Pubkey: Hex;
  caPubkey: Hex;
  quote: Hex;
  eventlog: Hex;
}

export interface ProxyState {
  proxy: Address;
  implementation: Address;
  owner: Address;
  /** Set only on two-step-ownership versions (newer dstack main). */
  pendingOwner?: Address;
}

export interface KmsState extends ProxyState {
  osImages: Hex[];
  aggregatedMrs: Hex[];
  devices: Hex[];
  gatewayAppId: string;
  appImplementation: Address;
  info: KmsInfo;
}

export interface AppState extends ProxyState {
  name: string;
  composeHashes: Hex[];
  devices: Hex[];
  allowAnyDevice: boolean;
  upgradesDisabled: boolean;
}

export interface SafeState {
  address: Address;
  /** Read from the Safe (VERSION()): protocol-kit and the simulation use that version's contracts. */
  version: SafeVersion;
  owners: Address[];
  threshold: number;
  nonce: bigint;
}

export interface TimelockState {
  address: Address;
  /** Detected: a timelock with expiration() is an ExpiringTimelock, one without a stock TimelockController. */
  kind: TimelockKind;
  delay: bigint;
  /** The contract's own expiration window (expiring kind only; a stock timelock has none). */
  expiration?: bigint;
  /** Role ids as this contract defines them (the admin role differs between OpenZeppelin 4.x and 5.x). */
  roleIds: Record<TimelockRole, Hex>;
  /** Every current holder of each role, sorted (events found them, hasRole confirmed them); zero address = anyone. */
  roles: Record<TimelockRole, Address[]>;
}

export interface LiveState {
  chainId: number;
  blockNumber: bigint;
  blockTimestamp: bigint;
  kms: KmsState;
  apps: AppState[];
  safe?: SafeState;
  timelock?: TimelockState;
}

const kmsSetEvents = {
  osImages: ["OsImageHashAdded", "OsImageHashRemoved"],
  aggregatedMrs: ["KmsAggregatedMrAdded", "KmsAggregatedMrRemoved"],
  devices: ["KmsDeviceAdded", "KmsDeviceRemoved"],
} as const;
const kmsSetGetters = { osImages: "allowedOsImages", aggregatedMrs: "kmsAllowedAggregatedMrs", devices: "kmsAllowedDeviceIds" } as const;
const appSetEvents = { composeHashes: ["ComposeHashAdded", "ComposeHashRemoved"], devices: ["DeviceAdded", "DeviceRemoved"] } as const;
const appSetGetters = { composeHashes: "allowedComposeHashes", devices: "allowedDeviceIds" } as const;

const kmsEventNames = Object.values(kmsSetEvents).flat();
const appEventNames = [...Object.values(appSetEvents).flat(), "UpgradesDisabled"] as const;

const scannedEvents: AbiEvent[] = [
  ...kmsEventNames.map((name) => getAbiItem({ abi: dstackKmsAbi, name }) as AbiEvent),
  ...appEventNames.map((name) => getAbiItem({ abi: dstackAppAbi, name }) as AbiEvent),
  getAbiItem({ abi: timelockAbi, name: "RoleGranted" }) as AbiEvent,
];

type ContractCall = { address: Address; abi: readonly unknown[]; functionName: string; args?: readonly unknown[] };
type CallResult = { status: "success"; result: unknown } | { status: "failure"; error: Error };

/** Runs many view calls through Multicall3 at one block, in parallel batches. */
async function multicallAt(client: PublicClient, blockNumber: bigint, calls: ContractCall[]): Promise<CallResult[]> {
  const batches: ContractCall[][] = [];
  for (let i = 0; i < calls.length; i += CALLS_PER_MULTICALL) batches.push(calls.slice(i, i + CALLS_PER_MULTICALL));
  const results = await Promise.all(
    batches.map((batch) => client.multicall({ contracts: batch as never, blockNumber, allowFailure: true, batchSize: 0 })),
  );
  return results.flat() as CallResult[];
}

function ok<T>(result: CallResult, what: string): T {
  if (result.status === "failure") throw new Error(`reading ${what} failed: ${result.error.message.split("\n")[0]}`);
  return result.result as T;
}

/**
 * Reads everything a stack governs at ONE pinned block. Requests: the block (twice: before and
 * after, to catch a reorg), one multicall of scalars, one storage read per proxy, one eth_getLogs
 * per log chunk, and one multicall per 500 items to confirm (every item ever added, plus the
 * desired ones): 10 requests at 1,000 items.
 */
export async function readLiveState(client: PublicClient, config: StackConfig, pinnedBlock?: bigint): Promise<LiveState> {
  const block = await client.getBlock(pinnedBlock === undefined ? { blockTag: "latest" } : { blockNumber: pinnedBlock });
  const blockNumber = block.number;
  const proxies = [config.kms.proxy, ...config.apps.map((app) => app.proxy)];
  const governance = config.governance;
  const safeAddress = governance.mode === "direct" ? undefined : governance.safe.address;
  const timelockAddress = governance.mode === "safe+timelock" ? governance.timelock.address : undefined;

  const scalarCalls: ContractCall[] = [
    { address: config.kms.proxy, abi: dstackKmsAbi, functionName: "owner" },
    { address: config.kms.proxy, abi: ownable2StepAbi, functionName: "pendingOwner" },
    { address: config.kms.proxy, abi: dstackKmsAbi, functionName: "gatewayAppId" },
    { address: config.kms.proxy, abi: dstackKmsAbi, functionName: "appImplementation" },
    { address: config.kms.proxy, abi: dstackKmsAbi, functionName: "kmsInfo" },
    ...config.apps.flatMap((app): ContractCall[] => [
      { address: app.proxy, abi: dstackAppAbi, functionName: "owner" },
      { address: app.proxy, abi: ownable2StepAbi, functionName: "pendingOwner" },
      { address: app.proxy, abi: dstackAppAbi, functionName: "allowAnyDevice" },
      { address: app.proxy, abi: dstackAppOptionalAbi, functionName: "upgradesDisabled" },
    ]),
  ];
  const safeCallsAt = scalarCalls.length;
  if (safeAddress) {
    scalarCalls.push(
      { address: safeAddress, abi: safeAbi, functionName: "getOwners" },
      { address: safeAddress, abi: safeAbi, functionName: "getThreshold" },
      { address: safeAddress, abi: safeAbi, functionName: "nonce" },
      { address: safeAddress, abi: safeAbi, functionName: "VERSION" },
    );
  }
  const timelockCallsAt = scalarCalls.length;
  if (timelockAddress && safeAddress) {
    scalarCalls.push(
      { address: timelockAddress, abi: timelockAbi, functionName: "getMinDelay" },
      { address: timelockAddress, abi: timelockAbi, functionName: "expiration" },
      { address: timelockAddress, abi: timelockAbi, functionName: "TIMELOCK_ADMIN_ROLE" },
    );
  }

  const [scalars, implementations, logs] = await Promise.all([
    multicallAt(client, blockNumber, scalarCalls),
    Promise.all(proxies.map((proxy) => client.getStorageAt({ address: proxy, slot: IMPLEMENTATION_SLOT, blockNumber }))),
    scanLogs(client, {
      addresses: timelockAddress ? [...proxies, timelockAddress] : proxies,
      events: scannedEvents,
      fromBlock: BigInt(config.network.startBlock),
      toBlock: blockNumber,
      chunkSize: BigInt(config.network.logChunkSize),
    }),
  ]);

  // Candidates: every item ever added, plus every item the config wants (in case startBlock is late).
  const seen = new Map<string, Set<Hex>>();
  const disabledByEvent = new Set<Address>();
  const candidates = (proxy: Address, set: string) => {
    const key = `${proxy}:${set}`;
    if (!seen.has(key)) seen.set(key, new Set());
    return seen.get(key)!;
  };
  const roleCandidates = new Map<Hex, Set<Address>>();
  for (const log of logs as unknown as { address: Address; eventName: string; args: Record<string, Hex> }[]) {
    const proxy = getAddress(log.address);
    if (log.eventName === "RoleGranted") {
      if (proxy !== timelockAddress) continue;
      const role = log.args.role.toLowerCase() as Hex;
      roleCandidates.set(role, (roleCandidates.get(role) ?? new Set()).add(getAddress(log.args.account)));
      continue;
    }
    if (log.eventName === "UpgradesDisabled") {
      disabledByEvent.add(proxy);
      continue;
    }
    const kmsSet = Object.entries(kmsSetEvents).find(([, names]) => names[0] === log.eventName)?.[0];
    const appSet = Object.entries(appSetEvents).find(([, names]) => names[0] === log.eventName)?.[0];
    const set = proxy === config.kms.proxy ? kmsSet : appSet;
    if (set) candidates(proxy, set).add(Object.values(log.args)[0].toLowerCase() as Hex);
  }
  for (const set of Object.keys(kmsSetGetters) as (keyof typeof kmsSetGetters)[]) {
    for (const hash of config.kms[set]) candidates(config.kms.proxy, set).add(hash);
  }
  for (const app of config.apps) {
    for (const set of Object.keys(appSetGetters) as (keyof typeof appSetGetters)[]) {
      for (const hash of app[set]) candidates(app.proxy, set).add(hash);
    }
  }

  const membershipCalls: { key: string; hash: Hex; call: ContractCall }[] = [];
  for (const [key, hashes] of seen) {
    const [proxy, set] = key.split(":") as [Address, string];
    const isKms = proxy === config.kms.proxy;
    const functionName = isKms ? kmsSetGetters[set as keyof typeof kmsSetGetters] : appSetGetters[set as keyof typeof appSetGetters];
    for (const hash of [...hashes].sort()) {
      membershipCalls.push({ key, hash, call: { address: proxy, abi: isKms ? dstackKmsAbi : dstackAppAbi, functionName, args: [hash] } });
    }
  }
  // Timelock roles: every account ever granted one (events), plus the ones the config names, confirmed by hasRole.
  let roleIds: Record<TimelockRole, Hex> | undefined;
  const roleChecks: { role: TimelockRole; account: Address }[] = [];
  if (timelockAddress && governance.mode === "safe+timelock") {
    const legacyAdmin = scalars[timelockCallsAt + 2];
    roleIds = { ...TIMELOCK_ROLES, admin: legacyAdmin.status === "success" ? (legacyAdmin.result as Hex) : TIMELOCK_ROLES.admin };
    const t = governance.timelock;
    const named = [safeAddress!, timelockAddress, zeroAddress, ...(t.executors === "anyone" ? [] : t.executors), ...(t.proposers ?? []), ...(t.cancellers ?? []), ...(t.admins ?? [])];
    for (const role of TIMELOCK_ROLE_NAMES) {
      const accounts = new Set<Address>([...named, ...(roleCandidates.get(roleIds[role]) ?? [])].map((a) => getAddress(a)));
      for (const account of [...accounts].sort()) roleChecks.push({ role, account });
    }
  }
  const roleCalls = roleChecks.map(({ role, account }): ContractCall => ({ address: timelockAddress!, abi: timelockAbi, functionName: "hasRole", args: [roleIds![role], account] }));
  const confirmations = await multicallAt(client, blockNumber, [...membershipCalls.map((m) => m.call), ...roleCalls]);
  const memberships = confirmations.slice(0, membershipCalls.length);
  const roleResults = confirmations.slice(membershipCalls.length);
  // Reads are pinned by number: if a reorg replaced that block meanwhile, they may mix two chains.
  const after = await client.getBlock({ blockNumber });
  if (after.hash !== block.hash) throw new Error(`block ${blockNumber} changed while it was being read (reorg: ${block.hash} → ${after.hash}); run again`);
  const members = new Map<string, Hex[]>();
  membershipCalls.forEach((m, index) => {
    if (!ok<boolean>(memberships[index], `${m.call.functionName}(${m.hash})`)) return;
    members.set(m.key, [...(members.get(m.key) ?? []), m.hash]);
  });
  const setOf = (proxy: Address, set: string) => members.get(`${proxy}:${set}`) ?? [];

  const implementationOf = (index: number) => getAddress(`0x${(implementations[index] ?? "0x").slice(-40).padStart(40, "0")}`);
  const pending = (result: CallResult) => {
    const value = result.status === "success" ? (result.result as Address) : undefined;
    return value && value !== zeroAddress ? value : undefined;
  };
  const info = ok<readonly [Hex, Hex, Hex, Hex]>(scalars[4], "kmsInfo()");
  const kms: KmsState = {
    proxy: config.kms.proxy,
    implementation: implementationOf(0),
    owner: ok<Address>(scalars[0], "KMS owner()"),
    pendingOwner: pending(scalars[1]),
    gatewayAppId: ok<string>(scalars[2], "gatewayAppId()"),
    appImplementation: ok<Address>(scalars[3], "appImplementation()"),
    info: { k256Pubkey: info[0], caPubkey: info[1], quote: info[2], eventlog: info[3] },
    osImages: setOf(config.kms.proxy, "osImages"),
    aggregatedMrs: setOf(config.kms.proxy, "aggregatedMrs"),
    devices: setOf(config.kms.proxy, "devices"),
  };
  const apps = config.apps.map((app, i): AppState => {
    const base = 5 + i * 4;
    const disabledProbe = scalars[base + 3];
    return {
      name: app.name,
      proxy: app.proxy,
      implementation: implementationOf(i + 1),
      owner: ok<Address>(scalars[base], `${app.name} owner()`),
      pendingOwner: pending(scalars[base + 1]),
      allowAnyDevice: ok<boolean>(scalars[base + 2], `${app.name} allowAnyDevice()`),
      // Older versions have no getter: the UpgradesDisabled event is then the only witness.
      upgradesDisabled: disabledProbe.status === "success" ? Boolean(disabledProbe.result) : disabledByEvent.has(app.proxy),
      composeHashes: setOf(app.proxy, "composeHashes"),
      devices: setOf(app.proxy, "devices"),
    };
  });
  const safe: SafeState | undefined = safeAddress
    ? {
        address: safeAddress,
        owners: ok<Address[]>(scalars[safeCallsAt], "Safe getOwners()").map((o) => getAddress(o)),
        threshold: Number(ok<bigint>(scalars[safeCallsAt + 1], "Safe getThreshold()")),
        nonce: ok<bigint>(scalars[safeCallsAt + 2], "Safe nonce()"),
        version: safeVersionOf(ok<string>(scalars[safeCallsAt + 3], "Safe VERSION()"), safeAddress),
      }
    : undefined;
  let timelock: TimelockState | undefined;
  if (timelockAddress && roleIds) {
    const expiration = scalars[timelockCallsAt + 1];
    const roles = Object.fromEntries(TIMELOCK_ROLE_NAMES.map((role) => [role, [] as Address[]])) as Record<TimelockRole, Address[]>;
    roleChecks.forEach((check, i) => {
      if (ok<boolean>(roleResults[i], `timelock hasRole(${check.role}, ${check.account})`)) roles[check.role].push(check.account);
    });
    timelock = {
      address: timelockAddress,
      kind: expiration.status === "success" ? "expiring" : "openzeppelin",
      delay: ok<bigint>(scalars[timelockCallsAt], `timelock getMinDelay() at ${timelockAddress} (is it a TimelockController?)`),
      expiration: expiration.status === "success" ? (expiration.result as bigint) : undefined,
      roleIds,
      roles,
    };
  }
  return { chainId: client.chain!.id, blockNumber, blockTimestamp: block.timestamp, kms, apps, safe, timelock };
}
