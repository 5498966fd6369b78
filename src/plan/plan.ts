import { getAddress, zeroAddress, type Address, type Hex } from "viem";
import { APP_VARIANTS } from "../chain/variants";
import type { AppState, KmsInfo, LiveState, ProxyState, TimelockRole, TimelockState } from "../chain/read-state";
import { TIMELOCK_ROLE_NAMES } from "../chain/read-state";
import { formatDuration } from "../config/duration";
import { governanceOwner, safeChangeRoute, type StackConfig, type TimelockConfig } from "../config/schema";
import { GovernanceError } from "../errors";
import { GOVERNED_SETTINGS, itemsOf, setsOf, type GovernedSet } from "../governed/registry";
import { describeUpgradeCall, encodeUpgradeCall, type UpgradeCall } from "../implementation/call";
import { plannedCall as call } from "./planned-call";
import { safeOwnerCalls } from "./safe-owners";
import type { PlannedCall, ResourceKey } from "./types";

type SettingProperty = (typeof GOVERNED_SETTINGS)[number]["property"];

/** One setter call of a registry setting, as the planner words it. */
function settingCall(
  base: { resource: ResourceKey; to: Address; sender: Address },
  property: SettingProperty,
  value: unknown,
  description: string,
): PlannedCall {
  const setting = GOVERNED_SETTINGS.find((s) => s.property === property)!;
  return call({ ...base, property, change: { kind: "setting", setting, value }, description });
}

const sorted = (hashes: Iterable<Hex>) => [...hashes].sort();

/** Additions before removals, so a set is never emptier mid-batch than at either end. */
function setCalls(args: {
  set: GovernedSet;
  resource: ResourceKey;
  target: Address;
  sender: Address;
  live: readonly Hex[];
  /** Undefined: the config does not govern this set. */
  desired: readonly Hex[] | undefined;
}): PlannedCall[] {
  if (args.desired === undefined) return [];
  const { set } = args;
  const live = new Set(args.live);
  const desired = new Set(args.desired);
  const label = args.resource === "kms" ? "KMS" : args.resource.slice(4);
  const base = { resource: args.resource, property: set.property, to: args.target, sender: args.sender };
  return [
    ...sorted([...desired].filter((h) => !live.has(h))).map((item) =>
      call({
        ...base,
        change: { kind: "set.add", set, item },
        description: `${label}: authorize ${set.noun} ${item}`,
      }),
    ),
    ...sorted([...live].filter((h) => !desired.has(h))).map((item) =>
      call({
        ...base,
        change: { kind: "set.remove", set, item },
        description: `${label}: revoke ${set.noun} ${item}`,
      }),
    ),
  ];
}

/** Every registry set of one proxy (the KMS or an app), reconciled in registry order. */
function proxySetCalls(
  contract: "kms" | "app",
  base: { resource: ResourceKey; to: Address; sender: Address },
  live: object,
  desired: object,
): PlannedCall[] {
  return setsOf(contract).flatMap((set) =>
    setCalls({
      ...base,
      set,
      target: base.to,
      live: itemsOf(live, set.property) ?? [],
      desired: itemsOf(desired, set.property),
    }),
  );
}

function upgradeCall(
  resource: ResourceKey,
  live: ProxyState,
  desired: Address | undefined,
  then?: UpgradeCall,
): PlannedCall[] {
  if (!desired || getAddress(desired) === live.implementation) return [];
  const label = resource === "kms" ? "KMS" : resource.slice(4);
  const data = then ? encodeUpgradeCall(then) : "0x";
  return [
    call({
      resource,
      property: "implementation",
      to: live.proxy,
      sender: live.owner,
      change: { kind: "upgrade", implementation: getAddress(desired), data },
      description: `${label}: upgrade implementation ${live.implementation} → ${getAddress(desired)}${then ? `, calling ${describeUpgradeCall(then.function, data)}` : ""}`,
    }),
  ];
}

/** The sentence every two-step transfer carries, so the packet tells signers a second proposal follows. */
export const ACCEPT_FOLLOW_UP = "then the new owner must accept in a second proposal (two-step ownership)";

/**
 * Single-step owners transfer at once. Two-step owners (dstack main) transfer, and the new owner's
 * acceptOwnership follows in the next proposal, once the transfer has executed. A pending transfer
 * to anyone but the desired owner is cancelled (transferOwnership(0)), so it can never be accepted.
 */
function ownershipCalls(resource: ResourceKey, live: ProxyState, desired: Address): PlannedCall[] {
  const label = resource === "kms" ? "KMS" : resource.slice(4);
  const base = {
    resource,
    property: "owner",
    to: live.proxy,
    sender: live.owner,
  };
  if (live.owner === desired) {
    if (!live.pendingOwner) return [];
    return [
      call({
        ...base,
        change: { kind: "owner.transfer", newOwner: zeroAddress },
        description: `${label}: cancel the pending ownership transfer to ${live.pendingOwner} (not this stack's owner)`,
      }),
    ];
  }
  if (live.pendingOwner === desired) {
    return [
      call({
        resource,
        property: "owner",
        to: live.proxy,
        sender: desired,
        change: { kind: "owner.accept" },
        description: `${label}: ${desired} accepts ownership from ${live.owner}`,
      }),
    ];
  }
  const replaces = live.pendingOwner ? ` (replaces the pending transfer to ${live.pendingOwner})` : "";
  const followUp = live.twoStepOwnership ? `; ${ACCEPT_FOLLOW_UP}` : "";
  return [
    call({
      ...base,
      change: { kind: "owner.transfer", newOwner: desired },
      description: `${label}: transfer ownership ${live.owner} → ${desired}${replaces}${followUp}`,
    }),
  ];
}

function sameInfo(a: KmsInfo, b: KmsInfo): boolean {
  return a.k256Pubkey === b.k256Pubkey && a.caPubkey === b.caPubkey && a.quote === b.quote && a.eventlog === b.eventlog;
}

function kmsCalls(config: StackConfig, live: LiveState): { changes: PlannedCall[]; ownership: PlannedCall[] } {
  const kms = live.kms;
  const desired = config.kms;
  const base = { resource: "kms" as const, to: kms.proxy, sender: kms.owner };
  const changes: PlannedCall[] = [...upgradeCall("kms", kms, desired.implementation, desired.upgradeCall)];
  if (desired.gatewayAppId !== undefined && desired.gatewayAppId !== kms.gatewayAppId) {
    changes.push(
      settingCall(
        base,
        "gatewayAppId",
        desired.gatewayAppId,
        `KMS: gateway app id "${kms.gatewayAppId}" → "${desired.gatewayAppId}"`,
      ),
    );
  }
  if (desired.appImplementation && desired.appImplementation !== kms.appImplementation) {
    changes.push(
      settingCall(
        base,
        "appImplementation",
        desired.appImplementation,
        `KMS: app implementation for new apps ${kms.appImplementation} → ${desired.appImplementation}`,
      ),
    );
  }
  if (desired.info && !sameInfo(desired.info, kms.info)) {
    changes.push(settingCall(base, "info", desired.info, `KMS: set KMS info (k256 pubkey ${desired.info.k256Pubkey})`));
  }
  changes.push(...proxySetCalls("kms", base, kms, desired));
  return {
    changes,
    ownership: ownershipCalls("kms", kms, desired.owner ?? governanceOwner(config.governance)),
  };
}

function appCalls(
  config: StackConfig,
  app: StackConfig["apps"][number],
  live: AppState,
): { changes: PlannedCall[]; ownership: PlannedCall[] } {
  const resource = `app:${app.name}` as const;
  const base = { resource, to: live.proxy, sender: live.owner };
  const changes: PlannedCall[] = [...upgradeCall(resource, live, app.implementation, app.upgradeCall)];
  if (app.allowAnyDevice !== undefined && app.allowAnyDevice !== live.allowAnyDevice) {
    changes.push(
      settingCall(
        base,
        "allowAnyDevice",
        app.allowAnyDevice,
        `${app.name}: allow any device ${live.allowAnyDevice} → ${app.allowAnyDevice}`,
      ),
    );
  }
  if (app.requireTcbUpToDate !== undefined && app.requireTcbUpToDate !== live.requireTcbUpToDate) {
    if (live.requireTcbUpToDate === undefined) {
      const path = `apps[${config.apps.indexOf(app)}].requireTcbUpToDate`;
      throw new GovernanceError("config", `app ${app.name} cannot require an up-to-date TCB`, [
        {
          path,
          message: `the app runs ${APP_VARIANTS[live.variant]}, which has no TCB flag`,
          fix: `remove ${path}, or upgrade the app to v0.5.10 or later first`,
        },
      ]);
    }
    changes.push(
      settingCall(
        base,
        "requireTcbUpToDate",
        app.requireTcbUpToDate,
        `${app.name}: require an up-to-date TCB ${live.requireTcbUpToDate} → ${app.requireTcbUpToDate}`,
      ),
    );
  }
  changes.push(...proxySetCalls("app", base, live, app));
  return {
    changes,
    ownership: ownershipCalls(resource, live, app.owner ?? governanceOwner(config.governance)),
  };
}

/** Who must hold each timelock role: the config's lists, the Safe by default, the timelock as its own admin. */
export function desiredTimelockRoles(timelock: TimelockConfig, safe: Address): Record<TimelockRole, Address[]> {
  const sortedSet = (accounts: readonly Address[]) => [...new Set(accounts.map((a) => getAddress(a)))].sort();
  return {
    proposer: sortedSet(timelock.proposers ?? [safe]),
    canceller: sortedSet(timelock.cancellers ?? [safe]),
    executor: sortedSet(timelock.executors === "anyone" ? [zeroAddress] : timelock.executors),
    admin: sortedSet([timelock.address, ...(timelock.admins ?? [])]),
  };
}

const roleNoun: Record<TimelockRole, string> = {
  proposer: "proposer",
  canceller: "canceller",
  executor: "executor",
  admin: "admin",
};
const holderName = (account: Address, live: LiveState) =>
  account === zeroAddress
    ? "anyone"
    : account === live.safe?.address
      ? `the Safe ${account}`
      : account === live.timelock?.address
        ? `the timelock itself`
        : account;

/** The declared kind must be the deployed kind: the expiry guarantee differs (contract or this tool). */
export function assertTimelockKind(desired: TimelockConfig, live: TimelockState): void {
  if (desired.kind === live.kind) return;
  const found =
    live.kind === "openzeppelin"
      ? "a stock OpenZeppelin TimelockController (it has no expiration())"
      : "an ExpiringTimelock (it has expiration())";
  throw new Error(
    `governance.timelock.kind: the stack declares "${desired.kind}" but ${live.address} is ${found}; set governance.timelock.kind: ${live.kind}`,
  );
}

function timelockCalls(config: StackConfig, live: LiveState): PlannedCall[] {
  if (config.governance.mode !== "safe+timelock" || !live.timelock || !live.safe) return [];
  const desired = config.governance.timelock;
  const timelock = live.timelock;
  assertTimelockKind(desired, timelock);
  const base = { resource: "timelock" as const, to: timelock.address, sender: timelock.address };
  const calls: PlannedCall[] = [];
  if (desired.delay !== timelock.delay) {
    calls.push(
      call({
        ...base,
        property: "delay",
        change: { kind: "timelock.delay", delay: desired.delay },
        description: `Timelock: delay ${formatDuration(timelock.delay)} → ${formatDuration(desired.delay)}`,
      }),
    );
  }
  // A stock timelock has no expiration on chain: this tool enforces the declared window, nothing to send.
  if (timelock.expiration !== undefined && desired.expiration !== timelock.expiration) {
    calls.push(
      call({
        ...base,
        property: "expiration",
        change: { kind: "timelock.expiration", expiration: desired.expiration },
        description: `Timelock: expiration window ${formatDuration(timelock.expiration)} → ${formatDuration(desired.expiration)}`,
      }),
    );
  }
  // Grants first, revocations after: the timelock (its own admin) sends both, so order only matters for readability.
  const wanted = desiredTimelockRoles(desired, live.safe.address);
  const roleCalls = (kind: "timelock.grant-role" | "timelock.revoke-role") =>
    TIMELOCK_ROLE_NAMES.flatMap((role) => {
      const grant = kind === "timelock.grant-role";
      const accounts = grant
        ? wanted[role].filter((a) => !timelock.roles[role].includes(a))
        : timelock.roles[role].filter((a) => !wanted[role].includes(a));
      return accounts.map((account) =>
        call({
          ...base,
          property: "roles",
          change: { kind, roleId: timelock.roleIds[role], account },
          description: `Timelock: ${grant ? "grant" : "revoke"} ${roleNoun[role]} role ${grant ? "to" : "of"} ${holderName(account, live)}`,
        }),
      );
    });
  return [...calls, ...roleCalls("timelock.grant-role"), ...roleCalls("timelock.revoke-role")];
}

/**
 * Safe signer and threshold changes behind the delay: the timelock, enabled as a module of the Safe
 * (once, by a Safe self-call), schedules each step as execTransactionFromModule, so the Safe changes
 * itself only when the timelock batch runs.
 */
function safeChangesThroughTimelock(live: LiveState, steps: readonly PlannedCall[]): PlannedCall[] {
  const safe = live.safe!;
  const timelock = live.timelock;
  if (!timelock) return [...steps];
  const enable: PlannedCall[] = safe.timelockModule
    ? []
    : [
        call({
          resource: "safe",
          property: "safeChanges",
          to: safe.address,
          sender: safe.address,
          change: { kind: "safe.enable-module", module: timelock.address },
          description: `Safe: enable the timelock ${timelock.address} as a module, so signer and threshold changes run through it after the delay (governance.timelock.safeChanges: through-timelock)`,
        }),
      ];
  const wrapped = steps.map((step) =>
    call({
      resource: step.resource,
      property: step.property,
      to: safe.address,
      sender: timelock.address,
      change: { kind: "safe.through-module", safe: safe.address, inner: step.change },
      description: `${step.description}, through the timelock (after the delay)`,
    }),
  );
  return [...enable, ...wrapped];
}

/**
 * Desired config vs live chain state → the ordered calls that reconcile them. Deterministic:
 * Safe signers first, then the timelock, the KMS, each app in config order, and ownership
 * transfers last (so every earlier call still comes from the current owner).
 */
export function planChanges(config: StackConfig, live: LiveState): PlannedCall[] {
  const calls: PlannedCall[] = [];
  if (config.governance.mode !== "direct" && live.safe) {
    const desired = config.governance.safe;
    const steps = safeOwnerCalls(live.safe.address, live.safe, {
      owners: desired.owners.map((o) => o.address),
      threshold: desired.threshold,
    });
    calls.push(...(safeChangeRoute(config) === "through-timelock" ? safeChangesThroughTimelock(live, steps) : steps));
  }
  calls.push(...timelockCalls(config, live));
  const kms = kmsCalls(config, live);
  const apps = config.apps.map((app) => {
    const appLive = live.apps.find((a) => a.name === app.name);
    if (!appLive) throw new Error(`apps: no live state read for app "${app.name}"`);
    return appCalls(config, app, appLive);
  });
  calls.push(...kms.changes, ...apps.flatMap((a) => a.changes), ...kms.ownership, ...apps.flatMap((a) => a.ownership));
  return calls;
}
