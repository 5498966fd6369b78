/**
 * The governed properties of the dstack contracts, one entry each: where the config declares it,
 * how the chain is read and changed, which events record it, and how a reviewer calls it.
 * Reading, planning, state after, policy, measurement files, unmanaged notes and the audit
 * derive from these entries; adding a property starts here.
 */
import type { Hex } from "viem";

export type GovernedContract = "kms" | "app";

/** A set of authorized hashes (measurements, device ids): added and removed one item at a time. */
export interface GovernedSet {
  contract: GovernedContract;
  /** The key in the config section (kms or apps[i]) and in the live state. */
  property: "osImages" | "aggregatedMrs" | "devices" | "composeHashes";
  /** The membership getter: `getter(hash) → bool`. */
  getter: string;
  add: string;
  remove: string;
  events: { added: string; removed: string };
  /** How a reviewer names one item, e.g. "OS image". */
  noun: string;
  /** Omitted in the config = not governed (live members stay). Otherwise the key is required. */
  optional: boolean;
  /** Entries may be given as `{ sha256Of: <file> }` (dstack measures the file's bytes). */
  measuredFromFile: boolean;
}

/** A single value with a setter: changed in one call, recorded by one event. */
export interface GovernedSetting {
  contract: GovernedContract;
  property: "gatewayAppId" | "appImplementation" | "info" | "allowAnyDevice" | "requireTcbUpToDate";
  setter: string;
  event: string;
}

export const GOVERNED_SETS: readonly GovernedSet[] = [
  {
    contract: "kms",
    property: "osImages",
    getter: "allowedOsImages",
    add: "addOsImageHash",
    remove: "removeOsImageHash",
    events: { added: "OsImageHashAdded", removed: "OsImageHashRemoved" },
    noun: "OS image",
    optional: false,
    measuredFromFile: true,
  },
  {
    contract: "kms",
    property: "aggregatedMrs",
    getter: "kmsAllowedAggregatedMrs",
    add: "addKmsAggregatedMr",
    remove: "removeKmsAggregatedMr",
    events: { added: "KmsAggregatedMrAdded", removed: "KmsAggregatedMrRemoved" },
    noun: "KMS aggregated MR",
    optional: true,
    measuredFromFile: true,
  },
  {
    contract: "kms",
    property: "devices",
    getter: "kmsAllowedDeviceIds",
    add: "addKmsDevice",
    remove: "removeKmsDevice",
    events: { added: "KmsDeviceAdded", removed: "KmsDeviceRemoved" },
    noun: "KMS device",
    optional: true,
    measuredFromFile: true,
  },
  {
    contract: "app",
    property: "composeHashes",
    getter: "allowedComposeHashes",
    add: "addComposeHash",
    remove: "removeComposeHash",
    events: { added: "ComposeHashAdded", removed: "ComposeHashRemoved" },
    noun: "compose hash",
    optional: false,
    measuredFromFile: true,
  },
  {
    contract: "app",
    property: "devices",
    getter: "allowedDeviceIds",
    add: "addDevice",
    remove: "removeDevice",
    events: { added: "DeviceAdded", removed: "DeviceRemoved" },
    noun: "device",
    optional: true,
    measuredFromFile: true,
  },
];

export const GOVERNED_SETTINGS: readonly GovernedSetting[] = [
  { contract: "kms", property: "gatewayAppId", setter: "setGatewayAppId", event: "GatewayAppIdSet" },
  { contract: "kms", property: "appImplementation", setter: "setAppImplementation", event: "AppImplementationSet" },
  { contract: "kms", property: "info", setter: "setKmsInfo", event: "KmsInfoSet" },
  { contract: "app", property: "allowAnyDevice", setter: "setAllowAnyDevice", event: "AllowAnyDeviceSet" },
  { contract: "app", property: "requireTcbUpToDate", setter: "setRequireTcbUpToDate", event: "RequireTcbUpToDateSet" },
];

export const setsOf = (contract: GovernedContract) => GOVERNED_SETS.filter((s) => s.contract === contract);

/** Where a set sits in a raw config: the section holding it and the field's path (`kms.osImages`, `apps[0].devices`). */
export interface SetField {
  set: GovernedSet;
  section: Record<string, unknown>;
  field: string;
}

/** Every set a raw config's sections can hold, declared or not: the KMS's, then each app's, in registry order. */
export function setFields(config: { kms?: object; apps?: object[] }): SetField[] {
  const kms = config.kms as Record<string, unknown> | undefined;
  return [
    ...(kms ? setsOf("kms").map((set) => ({ set, section: kms, field: `kms.${set.property}` })) : []),
    ...((config.apps ?? []) as Record<string, unknown>[]).flatMap((app, i) =>
      setsOf("app").map((set) => ({ set, section: app, field: `apps[${i}].${set.property}` })),
    ),
  ];
}

/** A set's items in a config section or a live state of its contract (undefined: not declared). */
export function itemsOf(source: object | undefined, property: GovernedSet["property"]): readonly Hex[] | undefined {
  return (source as Record<string, readonly Hex[] | undefined> | undefined)?.[property];
}

/** Every event that changes a governed set or setting of the contract: what the audit reports as a change. */
export function changeEventsOf(contract: GovernedContract): string[] {
  return [
    ...setsOf(contract).flatMap((s) => [s.events.added, s.events.removed]),
    ...GOVERNED_SETTINGS.filter((s) => s.contract === contract).map((s) => s.event),
  ];
}

/** The set a membership event belongs to, when it adds an item. */
export function setAddedBy(contract: GovernedContract, eventName: string): GovernedSet | undefined {
  return setsOf(contract).find((s) => s.events.added === eventName);
}
