import {
  getAbiItem,
  getAddress,
  keccak256,
  stringToHex,
  zeroAddress,
  type AbiEvent,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import type { StackConfig } from "../config/schema";
import { dstackAppAbi, dstackAppTcbAbi, dstackKmsAbi, ownable2StepAbi, safeAbi, timelockAbi } from "./abis";
import { appVariant, kmsVariant, type AppVariant, type KmsVariant } from "./variants";
import { scanLogs } from "./logs";

/** ERC-1967 implementation slot: bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1). */
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc" as const;

/** Where every upstream DstackApp (v0.5.4 to main) keeps its private upgrades-disabled flag; see variants.ts. */
export const APP_FLAGS_SLOT = "0x0000000000000000000000000000000000000000000000000000000000000001" as const;

/** OpenZeppelin's role ids are constants: no need to read them from the chain. */
export const TIMELOCK_ROLES = {
  proposer: keccak256(stringToHex("PROPOSER_ROLE")),
  canceller: keccak256(stringToHex("CANCELLER_ROLE")),
  executor: keccak256(stringToHex("EXECUTOR_ROLE")),
} as const;

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
  /** Two-step ownership (dstack main): a transfer waits for the new owner's acceptOwnership. */
  twoStepOwnership: boolean;
  /** Set only on two-step-ownership versions when a transfer is in progress. */
  pendingOwner?: Address;
}

export interface KmsState extends ProxyState {
  variant: KmsVariant;
  osImages: Hex[];
  aggregatedMrs: Hex[];
  devices: Hex[];
  gatewayAppId: string;
  appImplementation: Address;
  info: KmsInfo;
}

export interface AppState extends ProxyState {
  name: string;
  variant: AppVariant;
  composeHashes: Hex[];
  devices: Hex[];
  allowAnyDevice: boolean;
  /** Read from the proxy's storage (upstream keeps it private and sets it at creation without an event). */
  upgradesDisabled: boolean;
  /** Absent on versions before v0.5.10, which have no TCB flag. */
  requireTcbUpToDate?: boolean;
}

export interface SafeState {
  address: Address;
  owners: Address[];
  threshold: number;
  nonce: bigint;
}

export interface TimelockState {
  address: Address;
  delay: bigint;
  expiration: bigint;
  safeIsProposer: boolean;
  safeIsCanceller: boolean;
  anyoneCanExecute: boolean;
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
const appEventNames = Object.values(appSetEvents).flat();

const scannedEvents: AbiEvent[] = [
  ...kmsEventNames.map((name) => getAbiItem({ abi: dstackKmsAbi, name }) as AbiEvent),
  ...appEventNames.map((name) => getAbiItem({ abi: dstackAppAbi, name }) as AbiEvent),
];

type ContractCall = { address: Address; abi: readonly unknown[]; functionName: string; args?: readonly unknown[] };
export type CallResult = { status: "success"; result: unknown } | { status: "failure"; error: Error };

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
      { address: app.proxy, abi: dstackAppTcbAbi, functionName: "requireTcbUpToDate" },
    ]),
  ];
  const safeCallsAt = scalarCalls.length;
  if (safeAddress) {
    scalarCalls.push(
      { address: safeAddress, abi: safeAbi, functionName: "getOwners" },
      { address: safeAddress, abi: safeAbi, functionName: "getThreshold" },
      { address: safeAddress, abi: safeAbi, functionName: "nonce" },
    );
  }
  const timelockCallsAt = scalarCalls.length;
  if (timelockAddress && safeAddress) {
    scalarCalls.push(
      { address: timelockAddress, abi: timelockAbi, functionName: "getMinDelay" },
      { address: timelockAddress, abi: timelockAbi, functionName: "expiration" },
      { address: timelockAddress, abi: timelockAbi, functionName: "hasRole", args: [TIMELOCK_ROLES.proposer, safeAddress] },
      { address: timelockAddress, abi: timelockAbi, functionName: "hasRole", args: [TIMELOCK_ROLES.canceller, safeAddress] },
      { address: timelockAddress, abi: timelockAbi, functionName: "hasRole", args: [TIMELOCK_ROLES.executor, zeroAddress] },
    );
  }

  const [scalars, implementations, flagSlots, logs] = await Promise.all([
    multicallAt(client, blockNumber, scalarCalls),
    Promise.all(proxies.map((proxy) => client.getStorageAt({ address: proxy, slot: IMPLEMENTATION_SLOT, blockNumber }))),
    Promise.all(config.apps.map((app) => client.getStorageAt({ address: app.proxy, slot: APP_FLAGS_SLOT, blockNumber }))),
    scanLogs(client, {
      addresses: proxies,
      events: scannedEvents,
      fromBlock: BigInt(config.network.startBlock),
      toBlock: blockNumber,
      chunkSize: BigInt(config.network.logChunkSize),
    }),
  ]);

  // Candidates: every item ever added, plus every item the config wants (in case startBlock is late).
  const seen = new Map<string, Set<Hex>>();
  const candidates = (proxy: Address, set: string) => {
    const key = `${proxy}:${set}`;
    if (!seen.has(key)) seen.set(key, new Set());
    return seen.get(key)!;
  };
  for (const log of logs as unknown as { address: Address; eventName: string; args: Record<string, Hex> }[]) {
    const proxy = getAddress(log.address);
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
  const memberships = await multicallAt(client, blockNumber, membershipCalls.map((m) => m.call));
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
    variant: kmsVariant(config.kms.proxy, { owner: scalars[0], pendingOwner: scalars[1] }),
    implementation: implementationOf(0),
    owner: ok<Address>(scalars[0], "KMS owner()"),
    twoStepOwnership: scalars[1].status === "success",
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
    const { variant, upgradesDisabled } = appVariant(app.name, app.proxy, {
      owner: scalars[base],
      pendingOwner: scalars[base + 1],
      allowAnyDevice: scalars[base + 2],
      requireTcbUpToDate: scalars[base + 3],
      flagsSlot: flagSlots[i],
    });
    const tcb = scalars[base + 3];
    return {
      name: app.name,
      proxy: app.proxy,
      variant,
      implementation: implementationOf(i + 1),
      owner: ok<Address>(scalars[base], `${app.name} owner()`),
      twoStepOwnership: scalars[base + 1].status === "success",
      pendingOwner: pending(scalars[base + 1]),
      allowAnyDevice: ok<boolean>(scalars[base + 2], `${app.name} allowAnyDevice()`),
      upgradesDisabled,
      requireTcbUpToDate: tcb.status === "success" ? (tcb.result as boolean) : undefined,
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
      }
    : undefined;
  const timelock: TimelockState | undefined = timelockAddress
    ? {
        address: timelockAddress,
        delay: ok<bigint>(scalars[timelockCallsAt], "timelock getMinDelay()"),
        expiration: ok<bigint>(scalars[timelockCallsAt + 1], "timelock expiration()"),
        safeIsProposer: ok<boolean>(scalars[timelockCallsAt + 2], "timelock hasRole(PROPOSER)"),
        safeIsCanceller: ok<boolean>(scalars[timelockCallsAt + 3], "timelock hasRole(CANCELLER)"),
        anyoneCanExecute: ok<boolean>(scalars[timelockCallsAt + 4], "timelock hasRole(EXECUTOR, 0x0)"),
      }
    : undefined;
  return { chainId: client.chain!.id, blockNumber, blockTimestamp: block.timestamp, kms, apps, safe, timelock };
}
