import { setImmediate as nextTurn } from "node:timers/promises";
import {
  getAbiItem,
  toFunctionSelector,
  type AbiFunction,
  getAddress,
  zeroHash,
  keccak256,
  stringToHex,
  zeroAddress,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import type { StackConfig, TimelockKind } from "../config/schema";
import { safeVersionOf, type SafeVersion } from "./safe-deployments";
import { dstackAppAbi, dstackAppTcbAbi, dstackKmsAbi, ownable2StepAbi, safeAbi, timelockAbi } from "./abis";
import { assertExpectedContracts, WrongContractError } from "./identify";
import { appVariant, kmsVariant, type AppVariant, type KmsVariant } from "./variants";
import {
  candidateKey,
  checkpointedCandidates,
  roleCandidateKey,
  scanCandidates,
  type Candidates,
  type ScanOptions,
} from "./candidates";
import { itemsOf, setsOf, type GovernedSet } from "../governed/registry";
import { readMemberships, type Membership, type MembershipQuery } from "./membership-reader";
import { multicallAt, succeeded, type CallResult, type ContractCall } from "./multicall";
import { readAt, whenKnown, type PinnedBlock } from "./pinned-read";
import { awaitedLater } from "./awaited-later";

/** ERC-1967 implementation slot: bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1). */
export const IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc" as const;

/** Where every upstream DstackApp (v0.5.4 to main) keeps its private upgrades-disabled flag; see variants.ts. */
export const APP_FLAGS_SLOT = "0x0000000000000000000000000000000000000000000000000000000000000001" as const;

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
  /** Read from the Safe (VERSION()): protocol-kit and the simulation use that version's contracts. */
  version: SafeVersion;
  /** With a timelock: whether the timelock is enabled as a module of the Safe (the route of delayed signer changes). */
  timelockModule?: boolean;
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
  /** The pinned block's hash: every state read names it (EIP-1898). */
  blockHash: Hex;
  blockTimestamp: bigint;
  kms: KmsState;
  apps: AppState[];
  safe?: SafeState;
  timelock?: TimelockState;
}

export interface ReadOptions extends ScanOptions {
  /** Read at this block instead of the head. */
  pinnedBlock?: bigint;
  /**
   * Re-read after known changes (the convergence proof's fork): sets and role holders come from
   * `state`, except the items in `items` and, when `roles`, the timelock's roles, which are read
   * again. No event scan: the cost follows the changes, not the size of the stack.
   */
  reuse?: { state: LiveState; items: Candidates; roles: boolean };
}

/** View calls by name, within groups named after what they read ("kms", "app:<name>", "safe", "timelock"). */
type NamedCalls = Record<string, ContractCall>;

/** One decoded group: each result is asked for by its name, never by its position in the batch. */
interface NamedResults {
  value<T>(name: string): T;
  /** The result, or undefined when the call reverted (a getter this contract version lacks). */
  optional<T>(name: string): T | undefined;
  /** The raw outcome, for probes that tell contract versions apart by what reverts. */
  raw(name: string): CallResult;
}

/** Runs every group's calls in one multicall batch at the block and hands each group back by name. */
async function readGroups(
  client: PublicClient,
  block: PinnedBlock,
  groups: Record<string, NamedCalls>,
): Promise<Record<string, NamedResults>> {
  const entries = Object.entries(groups).flatMap(([group, calls]) =>
    Object.entries(calls).map(([name, call]) => ({ group, name, call })),
  );
  const results = await multicallAt(
    client,
    block,
    entries.map((e) => e.call),
  );
  const found = new Map(entries.map((e, i) => [`${e.group}.${e.name}`, { call: e.call, result: results[i] }]));
  const named = (group: string): NamedResults => {
    const entry = (name: string) => {
      const read = found.get(`${group}.${name}`);
      if (!read) throw new Error(`internal: no read named ${group}.${name}`);
      return read;
    };
    return {
      value: <T>(name: string) => succeeded<T>(entry(name).result, `${group} ${entry(name).call.functionName}()`),
      optional: <T>(name: string) => {
        const { result } = entry(name);
        return result.status === "success" ? (result.result as T) : undefined;
      },
      raw: (name: string) => entry(name).result,
    };
  };
  return Object.fromEntries(Object.keys(groups).map((group) => [group, named(group)]));
}

const proxyReads = (proxy: Address, abi: readonly unknown[]): NamedCalls => ({
  owner: { address: proxy, abi, functionName: "owner" },
  pendingOwner: { address: proxy, abi: ownable2StepAbi, functionName: "pendingOwner" },
});

const kmsReads = (proxy: Address): NamedCalls => ({
  ...proxyReads(proxy, dstackKmsAbi),
  gatewayAppId: { address: proxy, abi: dstackKmsAbi, functionName: "gatewayAppId" },
  appImplementation: { address: proxy, abi: dstackKmsAbi, functionName: "appImplementation" },
  info: { address: proxy, abi: dstackKmsAbi, functionName: "kmsInfo" },
});

const appReads = (proxy: Address): NamedCalls => ({
  ...proxyReads(proxy, dstackAppAbi),
  allowAnyDevice: { address: proxy, abi: dstackAppAbi, functionName: "allowAnyDevice" },
  requireTcbUpToDate: { address: proxy, abi: dstackAppTcbAbi, functionName: "requireTcbUpToDate" },
});

const safeReads = (safe: Address, timelock?: Address): NamedCalls => ({
  ...(timelock
    ? { timelockModule: { address: safe, abi: safeAbi, functionName: "isModuleEnabled", args: [timelock] } }
    : {}),
  owners: { address: safe, abi: safeAbi, functionName: "getOwners" },
  threshold: { address: safe, abi: safeAbi, functionName: "getThreshold" },
  nonce: { address: safe, abi: safeAbi, functionName: "nonce" },
  version: { address: safe, abi: safeAbi, functionName: "VERSION" },
});

const timelockReads = (timelock: Address): NamedCalls => ({
  delay: { address: timelock, abi: timelockAbi, functionName: "getMinDelay" },
  // Reverts on a stock TimelockController: that is how the kind is detected.
  expiration: { address: timelock, abi: timelockAbi, functionName: "expiration" },
  // OpenZeppelin 4.x only; 5.x uses DEFAULT_ADMIN_ROLE (0x00).
  legacyAdminRole: { address: timelock, abi: timelockAbi, functionName: "TIMELOCK_ADMIN_ROLE" },
});

/** OpenZeppelin 4.x's admin role (5.x uses 0x00): known before the timelock is read, so both are checked early. */
const LEGACY_ADMIN_ROLE = keccak256(stringToHex("TIMELOCK_ADMIN_ROLE"));
const ROLE_IDS_BEFORE_READ: [TimelockRole, Hex][] = [
  ...Object.entries(TIMELOCK_ROLES),
  ["admin", LEGACY_ADMIN_ROLE],
] as [TimelockRole, Hex][];

/** One getter confirming one candidate at the pinned block: a set item, or an account holding a timelock role. */
interface Check {
  /** `${key}/${item}`, lowercase item: what `requested` knows it by. */
  id: string;
  key: string;
  item: string;
  role?: TimelockRole;
  /** A set item is asked through the membership reader, a role holder with a hasRole call. */
  read: { getter: { target: Address; selector: Hex } } | { call: ContractCall };
  /** What failed, when the call reverts. */
  what: string;
}

const hasRoleAbi = [getAbiItem({ abi: timelockAbi, name: "hasRole" })];

const checkId = (key: string, item: string) => `${key}/${item.toLowerCase()}`;

/** Accounts the config names in the timelock's roles: checked whatever the events say. */
function namedRoleAccounts(config: StackConfig): Address[] {
  if (config.governance.mode !== "safe+timelock") return [];
  const t = config.governance.timelock;
  return [
    config.governance.safe.address,
    t.address,
    zeroAddress,
    ...(t.executors === "anyone" ? [] : t.executors),
    ...(t.proposers ?? []),
    ...(t.cancellers ?? []),
    ...(t.admins ?? []),
  ];
}

/**
 * Candidates known without a scan: the config's items and the last checkpoint's, or on a re-read
 * the touched items and the known role holders.
 */
function knownCandidates(
  config: StackConfig,
  reuse: ReadOptions["reuse"],
  timelock: Address | undefined,
  checkpointed: Candidates,
): Candidates {
  const known: Candidates = new Map();
  const add = (key: string, items: Iterable<string>) => {
    if (!known.has(key)) known.set(key, new Set());
    for (const item of items) known.get(key)!.add(item as Hex);
  };
  if (reuse) {
    for (const [key, items] of reuse.items) add(key, items);
    const roles = reuse.state.timelock;
    if (roles && timelock)
      for (const role of TIMELOCK_ROLE_NAMES) add(roleCandidateKey(timelock, roles.roleIds[role]), roles.roles[role]);
    return known;
  }
  for (const [key, items] of checkpointed) add(key, items);
  for (const set of setsOf("kms"))
    add(candidateKey(config.kms.proxy, set.property), itemsOf(config.kms, set.property) ?? []);
  for (const app of config.apps)
    for (const set of setsOf("app")) add(candidateKey(app.proxy, set.property), itemsOf(app, set.property) ?? []);
  return known;
}

/** The candidates of `found` that `known` does not hold. */
function unknownTo(known: Candidates, found: Candidates): Candidates {
  return new Map(
    [...found].map(([key, items]) => [key, new Set([...items].filter((item) => !known.get(key)?.has(item)))]),
  );
}

function mergeCandidates(a: Candidates, b: Candidates): Candidates {
  const merged: Candidates = new Map([...a].map(([key, items]) => [key, new Set(items)]));
  for (const [key, items] of b) merged.set(key, new Set([...(merged.get(key) ?? []), ...items]));
  return merged;
}

/**
 * The getter calls that confirm candidates: each set item with its `allowed…` getter, and for each
 * of `roles` the accounts the config names or a RoleGranted event named, with hasRole. Sorted.
 */
function candidateChecks(config: StackConfig, candidates: Candidates, roles: [TimelockRole, Hex][]): Check[] {
  const checks: Check[] = [];
  for (const [key, items] of [...candidates].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (key.includes(":role:")) continue;
    const [proxy, set] = key.split(":") as [Address, string];
    const isKms = proxy === config.kms.proxy;
    const functionName = setsOf(isKms ? "kms" : "app").find((s) => s.property === set)!.getter;
    const getter = {
      target: proxy,
      selector: toFunctionSelector(
        getAbiItem({ abi: isKms ? dstackKmsAbi : dstackAppAbi, name: functionName as never }) as AbiFunction,
      ),
    };
    for (const item of [...items].sort())
      checks.push({ id: checkId(key, item), key, item, read: { getter }, what: `${functionName}(${item})` });
  }
  if (config.governance.mode !== "safe+timelock") return checks;
  const timelock = config.governance.timelock.address;
  for (const [role, roleId] of roles) {
    const key = roleCandidateKey(timelock, roleId);
    const granted = [...(candidates.get(key) ?? [])];
    const accounts = [...new Set([...namedRoleAccounts(config), ...granted].map((a) => getAddress(a)))].sort();
    for (const account of accounts) {
      const call = { address: timelock, abi: hasRoleAbi, functionName: "hasRole", args: [roleId, account] };
      checks.push({
        id: checkId(key, account),
        key,
        item: account,
        role,
        read: { call },
        what: `timelock hasRole(${role}, ${account})`,
      });
    }
  }
  return checks;
}

/** Shared by every item's outcome: a read of thousands of items would otherwise make one each. */
const MEMBER: CallResult = { status: "success", result: true };
const NOT_MEMBER: CallResult = { status: "success", result: false };

/** A set item's answer from the membership reader, as a getter call's outcome. */
function membershipResult(answer: Membership): CallResult {
  if (typeof answer === "boolean") return answer ? MEMBER : NOT_MEMBER;
  return {
    status: "failure",
    error: new Error(answer === "reverted" ? "the getter reverted" : "the getter answered no bool"),
  };
}

/** Consecutive set checks of one getter as one reader query (checks come sorted by set). */
function membershipQueries(checks: readonly Check[]): MembershipQuery[] {
  const queries: MembershipQuery[] = [];
  for (const check of checks) {
    if (!("getter" in check.read)) continue;
    const { target, selector } = check.read.getter;
    const last = queries.at(-1);
    if (last && last.target === target && last.selector === selector) (last.items as Hex[]).push(check.item as Hex);
    else queries.push({ target, selector, items: [check.item as Hex] });
  }
  return queries;
}

/** One request's answers to its checks, by position; set once it is answered. */
interface Answers {
  outcome?: (index: number) => CallResult;
}

/** Where each requested check's outcome is: its request's answers, at its position. */
type Requested = Map<string, { answers: Answers; index: number }>;

/**
 * Starts the checks not requested yet (set items through the reader, roles through Multicall3) and
 * records where each one's outcome will be in `requested` at once, so a later round never asks
 * again for what an earlier one has in flight. Resolves when these are answered; one promise per
 * request, not per check (a read of thousands of items would otherwise make thousands).
 */
function runChecks(client: PublicClient, block: PinnedBlock, checks: Check[], requested: Requested): Promise<unknown> {
  const todo = [...new Map(checks.map((c) => [c.id, c])).values()].filter((c) => !requested.has(c.id));
  const items = todo.filter((c) => "getter" in c.read);
  const roles = todo.filter((c) => "call" in c.read);
  const itemAnswers: Answers = {};
  const roleAnswers: Answers = {};
  for (const [index, check] of items.entries()) requested.set(check.id, { answers: itemAnswers, index });
  for (const [index, check] of roles.entries()) requested.set(check.id, { answers: roleAnswers, index });
  // Neither sends a request for nothing.
  const memberships = readMemberships(client, block, membershipQueries(items)).then((m) => {
    itemAnswers.outcome = (index) => membershipResult(m[index]);
  });
  const roleResults = multicallAt(
    client,
    block,
    roles.map((c) => (c.read as { call: ContractCall }).call),
  ).then((r) => {
    roleAnswers.outcome = (index) => r[index];
  });
  return Promise.all([memberships, roleResults]);
}

/** The outcome of a requested check whose request was answered. */
function outcomeOf(requested: Requested, check: Check): CallResult {
  const { answers, index } = requested.get(check.id)!;
  if (!answers.outcome) throw new Error(`internal: ${check.what} is not answered yet`);
  return answers.outcome(index);
}

/** Each role's holders from the confirmed role checks, sorted. */
function roleHolders(confirmed: Check[]): Record<TimelockRole, Address[]> {
  return Object.fromEntries(
    TIMELOCK_ROLE_NAMES.map((role) => [
      role,
      confirmed
        .filter((c) => c.role === role)
        .map((c) => c.item as Address)
        .sort(),
    ]),
  ) as Record<TimelockRole, Address[]>;
}

const appGroup = (name: string) => `app:${name}`;

/** A set's members in an earlier read of the same stack. */
function knownSet(state: LiveState, proxy: Address, set: string): Hex[] {
  const owner = proxy === state.kms.proxy ? state.kms : state.apps.find((app) => app.proxy === proxy);
  return [...(itemsOf(owner, set as GovernedSet["property"]) ?? [])];
}

/** Storage words by address, read in parallel at the block. */
async function storageAt(
  client: PublicClient,
  block: PinnedBlock,
  addresses: readonly Address[],
  slot: Hex,
): Promise<Map<Address, Hex | undefined>> {
  return new Map(
    await Promise.all(
      addresses.map(
        async (address) => [address, await readAt(client, block, "eth_getStorageAt", [address, slot])] as const,
      ),
    ),
  );
}

/** The getters of every governed contract's settings, read in one multicall by each read (re-reads too). */
function scalarGroups(config: StackConfig): Record<string, NamedCalls> {
  const governance = config.governance;
  const safeAddress = governance.mode === "direct" ? undefined : governance.safe.address;
  const timelockAddress = governance.mode === "safe+timelock" ? governance.timelock.address : undefined;
  const groups: Record<string, NamedCalls> = { kms: kmsReads(config.kms.proxy) };
  for (const app of config.apps) groups[appGroup(app.name)] = appReads(app.proxy);
  if (safeAddress) groups.safe = safeReads(safeAddress, timelockAddress);
  if (timelockAddress && safeAddress) groups.timelock = timelockReads(timelockAddress);
  return groups;
}

/** The same getters as calls (the convergence proof asks their access list to preload the fork). */
export function scalarReadCalls(config: StackConfig): ContractCall[] {
  return Object.values(scalarGroups(config)).flatMap((calls) => Object.values(calls));
}

/**
 * Reads everything a stack governs at ONE pinned block, named by its hash in every state read.
 * Requests: the block (again after a scan that read logs, to catch a reorg under them), one
 * multicall of scalars, one storage read per proxy, the event scan (from the last checkpoint: one
 * eth_getLogs, plus one block read to confirm the checkpoint; see candidates.ts), one membership
 * reader call per 1,000 items to confirm (every item ever added, plus the desired ones) and one
 * multicall of role checks. Rounds: the block;
 * then the scalars, storage, scan and the getters of every item the config or the last checkpoint
 * names, all at once; then the getters of what only the scan found, with the block again (a
 * steady read from a checkpoint at the head needs neither).
 */
export async function readLiveState(
  client: PublicClient,
  config: StackConfig,
  options: ReadOptions = {},
): Promise<LiveState> {
  try {
    return await readPinnedState(client, config, options);
  } catch (error) {
    // A failed read is most often an address holding the wrong contract: then name the field.
    const found = await assertExpectedContracts(client, config, options.pinnedBlock).then(
      () => undefined,
      (mismatch: unknown) => mismatch,
    );
    throw found instanceof WrongContractError ? found : error;
  }
}

async function readPinnedState(client: PublicClient, config: StackConfig, options: ReadOptions): Promise<LiveState> {
  const { pinnedBlock } = options;
  // A block pinned by another process (the program's, read again by the provider) was not served to
  // this client yet, so the client would not wait for a node behind it: this read does.
  const block = await whenKnown(() =>
    client.getBlock(pinnedBlock === undefined ? { blockTag: "latest" } : { blockNumber: pinnedBlock }),
  );
  const blockNumber = block.number;
  const pinned = { number: blockNumber, hash: block.hash };
  const proxies = [config.kms.proxy, ...config.apps.map((app) => app.proxy)];
  const governance = config.governance;
  const safeAddress = governance.mode === "direct" ? undefined : governance.safe.address;
  const timelockAddress = governance.mode === "safe+timelock" ? governance.timelock.address : undefined;
  const groups = scalarGroups(config);

  // Items and role holders known before the scan (named by the config, or re-read) are checked while
  // it runs; only what the scan alone finds waits for it, so a first read is not one getter round longer.
  const readRoles =
    timelockAddress !== undefined &&
    safeAddress !== undefined &&
    !(options.reuse?.state.timelock && !options.reuse.roles);
  const known = knownCandidates(
    config,
    options.reuse,
    timelockAddress,
    checkpointedCandidates(client.chain!.id, config, options.checkpoints),
  );
  const requested: Requested = new Map();
  // The scan is the longest request of the round: it goes out first, and the other requests on the
  // next turn (encoding them is CPU the scan would wait for).
  const scanning = options.reuse
    ? { candidates: new Map() as Candidates, logsRead: false, saved: Promise.resolve() }
    : scanCandidates(client, config, pinned, options);
  const scanSent = nextTurn();
  const reading = scanSent.then(() =>
    Promise.all([
      readGroups(client, pinned, groups),
      storageAt(client, pinned, proxies, IMPLEMENTATION_SLOT),
      storageAt(
        client,
        pinned,
        config.apps.map((app) => app.proxy),
        APP_FLAGS_SLOT,
      ),
    ]),
  );
  // What only the scan finds waits for it; nothing waits for these.
  const knownChecked = awaitedLater(
    scanSent.then(() =>
      runChecks(client, pinned, candidateChecks(config, known, readRoles ? ROLE_IDS_BEFORE_READ : []), requested),
    ),
  );
  // A failure of either ends the read at once; else the scan's candidates as soon as they are found.
  const scanned = await Promise.race([scanning, reading.then(() => scanning)]);
  // What only the scan found goes out at once, under either admin role id (the scalars name the one
  // in use, and a node such as anvil answers them after the scan); the list of every check is built while it runs.
  const lastChecks = awaitedLater(
    runChecks(
      client,
      pinned,
      candidateChecks(config, unknownTo(known, scanned.candidates), readRoles ? ROLE_IDS_BEFORE_READ : []),
      requested,
    ),
  );
  // State reads name the block by hash, so a reorg cannot mix two chains in them; logs are asked for
  // by block number, so after a scan the block is read again: still canonical, or the run fails.
  const closing = awaitedLater(scanned.logsRead ? client.getBlock({ blockNumber }) : Promise.resolve(block));
  const [reads, implementationSlots, flagSlots] = await reading;

  // Know every contract's version before reading its sets: an unknown contract gets a clear message.
  const kmsShape = kmsVariant(config.kms.proxy, {
    owner: reads.kms.raw("owner"),
    pendingOwner: reads.kms.raw("pendingOwner"),
  });
  const appShapes = new Map(
    config.apps.map((app, i) => {
      const r = reads[appGroup(app.name)];
      const shape = appVariant(`apps[${i}].proxy`, app.name, app.proxy, {
        owner: r.raw("owner"),
        pendingOwner: r.raw("pendingOwner"),
        allowAnyDevice: r.raw("allowAnyDevice"),
        requireTcbUpToDate: r.raw("requireTcbUpToDate"),
        flagsSlot: flagSlots.get(app.proxy),
      });
      return [app.name, shape] as const;
    }),
  );
  const t = reads.timelock;
  const roleIds = t
    ? { ...TIMELOCK_ROLES, admin: t.optional<Hex>("legacyAdminRole") ?? TIMELOCK_ROLES.admin }
    : undefined;

  const roles: [TimelockRole, Hex][] = readRoles && roleIds ? (Object.entries(roleIds) as [TimelockRole, Hex][]) : [];
  // Every item ever added and every account ever granted a role, plus what the config names.
  const seen = mergeCandidates(known, scanned.candidates);
  const all = candidateChecks(config, seen, roles);
  const [, , , after] = await Promise.all([knownChecked, lastChecks, scanned.saved, closing]);
  if (after.hash !== block.hash)
    throw new Error(
      `block ${blockNumber} changed while it was being read (reorg: ${block.hash} → ${after.hash}); run again`,
    );
  const holds = (check: Check) => succeeded<boolean>(outcomeOf(requested, check), check.what);
  const members = new Map<string, Hex[]>();
  for (const check of all) {
    if (check.role || !holds(check)) continue;
    const set = members.get(check.key);
    if (set) set.push(check.item as Hex);
    else members.set(check.key, [check.item as Hex]);
  }
  const setOf = (proxy: Address, set: string): Hex[] => {
    const key = candidateKey(proxy, set);
    const confirmed = members.get(key) ?? [];
    if (!options.reuse) return confirmed;
    const reread = seen.get(key) ?? new Set();
    const known = knownSet(options.reuse.state, proxy, set).filter((hash) => !reread.has(hash));
    return [...known, ...confirmed].sort();
  };

  const implementationOf = (proxy: Address) =>
    getAddress(`0x${(implementationSlots.get(proxy) ?? "0x").slice(-40).padStart(40, "0")}`);
  const proxyState = (proxy: Address, r: NamedResults): ProxyState => {
    const pendingOwner = r.optional<Address>("pendingOwner");
    return {
      proxy,
      implementation: implementationOf(proxy),
      owner: r.value<Address>("owner"),
      twoStepOwnership: r.raw("pendingOwner").status === "success",
      pendingOwner: pendingOwner && pendingOwner !== zeroAddress ? pendingOwner : undefined,
    };
  };
  const k = reads.kms;
  const info = k.value<readonly [Hex, Hex, Hex, Hex]>("info");
  const kms: KmsState = {
    ...proxyState(config.kms.proxy, k),
    variant: kmsShape,
    gatewayAppId: k.value<string>("gatewayAppId"),
    appImplementation: k.value<Address>("appImplementation"),
    info: { k256Pubkey: info[0], caPubkey: info[1], quote: info[2], eventlog: info[3] },
    osImages: setOf(config.kms.proxy, "osImages"),
    aggregatedMrs: setOf(config.kms.proxy, "aggregatedMrs"),
    devices: setOf(config.kms.proxy, "devices"),
  };
  const apps = config.apps.map((app): AppState => {
    const r = reads[appGroup(app.name)];
    const { variant, upgradesDisabled } = appShapes.get(app.name)!;
    return {
      name: app.name,
      ...proxyState(app.proxy, r),
      variant,
      allowAnyDevice: r.value<boolean>("allowAnyDevice"),
      upgradesDisabled,
      requireTcbUpToDate: r.optional<boolean>("requireTcbUpToDate"),
      composeHashes: setOf(app.proxy, "composeHashes"),
      devices: setOf(app.proxy, "devices"),
    };
  });
  const safe: SafeState | undefined = safeAddress
    ? {
        address: safeAddress,
        owners: reads.safe.value<Address[]>("owners").map((o) => getAddress(o)),
        threshold: Number(reads.safe.value<bigint>("threshold")),
        nonce: reads.safe.value<bigint>("nonce"),
        version: safeVersionOf(reads.safe.value<string>("version"), safeAddress),
        ...(timelockAddress ? { timelockModule: reads.safe.value<boolean>("timelockModule") } : {}),
      }
    : undefined;
  let timelock: TimelockState | undefined;
  if (timelockAddress && safeAddress && t && roleIds) {
    const expiration = t.optional<bigint>("expiration");
    timelock = {
      address: timelockAddress,
      kind: expiration === undefined ? "openzeppelin" : "expiring",
      delay: t.value<bigint>("delay"),
      expiration,
      roleIds,
      roles: readRoles
        ? roleHolders(all.filter((check) => check.role && holds(check)))
        : options.reuse!.state.timelock!.roles,
    };
  }
  return {
    chainId: client.chain!.id,
    blockNumber,
    blockHash: block.hash,
    blockTimestamp: block.timestamp,
    kms,
    apps,
    safe,
    timelock,
  };
}
