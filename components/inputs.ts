import type { MeasuredByCommand } from "../src/measurements/resolve";
import type { PlannedCall, ResourceKey } from "../src/plan/types";

/** Which governed resource a planned call belongs to. */
export type ResourceSlot = { resource: ResourceKey; properties: "proxy" | "policy" | "all" };

/** Proxy-level properties (the ContractProxy resource); everything else is policy. */
const PROXY_PROPERTIES = new Set(["implementation", "owner"]);

export function callsFor(calls: readonly PlannedCall[], slot: ResourceSlot): PlannedCall[] {
  return calls.filter(
    (c) =>
      c.resource === slot.resource &&
      (slot.properties === "all" || (slot.properties === "proxy") === PROXY_PROPERTIES.has(c.property)),
  );
}

/**
 * The stack's config sections as the program read them. Resources carry them instead of the provider:
 * Pulumi records a provider's config before any resource runs, so a failed `up` would keep a config
 * no proposal was written for; a resource's inputs are only recorded once its step succeeded.
 */
export type RawConfig = Record<string, unknown>;

/** The keys `pulumi up` signs or sends with, from secret config (recorded encrypted, never returned as outputs). */
export interface StackKeys {
  proposerKey?: string;
  executorKey?: string;
  adminKey?: string;
  deployerKey?: string;
}

/** The governed resource types; each validates its declared values with its part of the schema. */
export type GovernedKind = "GovernanceSafe" | "Timelock" | "ContractProxy" | "KmsPolicy" | "AppPolicy";

/**
 * The inputs every governed resource carries. `declared` is what the config says. `__pending` is the
 * one-line description of each call still needed on chain and not carried by an in-flight proposal:
 * the diff needs it, Pulumi's display hides `__` keys, and the program logs the calls readably instead.
 * No path, block number or other run-dependent value is an input here: an in-sync preview shows nothing.
 */
export interface GovernedInputs {
  stack: string;
  kind: GovernedKind;
  resource: ResourceKey;
  declared: Record<string, unknown>;
  __pending: string[];
  /** What `pulumi refresh` reads the chain with. */
  __config: RawConfig;
}

/** The proposal resource's inputs: the calls of this run, and proposals that can be executed now. */
export interface ProposalInputs {
  stack: string;
  mode: string;
  /** Descriptions of every uncovered call, in plan order. */
  __calls: string[];
  /** In-flight proposal ids whose next step (Safe execution or timelock batch) can run now. */
  __executable: string[];
  /** What the config's measurement commands printed this run, by command (shown on the policy resources). */
  __measured: MeasuredByCommand;
  /** Proposal ids whose ready batch only the Safe may execute, with no execution proposal yet: up writes one. */
  __executeThroughSafe: string[];
  /**
   * The block the program read (decimal): the provider plans at the same block, so the proposal is
   * the plan this run showed. Never diffed. Absent when the run deploys an implementation first.
   */
  __block?: string;
  __config: RawConfig;
  __keys: StackKeys;
}

/** An in-flight proposal as the last `pulumi up` left it (a stack output). */
export interface ProposalSummary {
  id: string;
  safeNonce: string;
  status: string;
}

/** Measurement lists, and the Safe's owners: sets whose order means nothing. */
const MEMBER_SETS = new Set(["osImages", "aggregatedMrs", "devices", "composeHashes"]);
type Owner = { address: string; org: string };

/**
 * Declared values as resource inputs: a set becomes a map keyed by its members (owners: address → org),
 * so a diff shows each added and removed member instead of positional replacements.
 */
export function declaredInputs(values: Record<string, unknown>): Record<string, unknown> {
  const asInput = (key: string, value: unknown): unknown => {
    if (!Array.isArray(value)) return value;
    if (key === "owners") return Object.fromEntries((value as Owner[]).map((o) => [o.address, o.org]));
    return MEMBER_SETS.has(key) ? Object.fromEntries(value.map((member) => [member, true])) : value;
  };
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, asInput(key, value)]));
}

/** The inverse of declaredInputs: the lists the engine's schema validates. */
export function declaredValues(declared: Record<string, unknown>): Record<string, unknown> {
  const asValue = (key: string, value: unknown): unknown => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
    if (key === "owners") return Object.entries(value).map(([address, org]) => ({ address, org }));
    return MEMBER_SETS.has(key) ? Object.keys(value) : value;
  };
  return Object.fromEntries(Object.entries(declared).map(([key, value]) => [key, asValue(key, value)]));
}

/** An implementation this stack deploys by CREATE2; `address` is computed before deployment, so preview shows it. */
export interface DeploymentInputs {
  stack: string;
  resource: ResourceKey;
  /** Fully qualified contract name from the artifact. */
  contract: string;
  address: string;
  salt: string;
  __config: RawConfig;
  __keys: StackKeys;
}
