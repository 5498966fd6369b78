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
 * The inputs every governed resource carries. `declared` is what the config says; `pending` is
 * the one-line description of each call still needed on chain and not yet carried by an
 * in-flight proposal. Pending changes are inputs so that `pulumi preview --diff` prints them.
 */
/** The governed resource types; each validates its declared values with its part of the schema. */
export type GovernedKind = "GovernanceSafe" | "Timelock" | "ContractProxy" | "KmsPolicy" | "AppPolicy";

export interface GovernedInputs {
  stack: string;
  root: string;
  kind: GovernedKind;
  resource: ResourceKey;
  declared: Record<string, unknown>;
  pending: string[];
}

/** The proposal resource's inputs: the calls of this run, and proposals that can be executed now. */
export interface ProposalInputs {
  stack: string;
  root: string;
  mode: string;
  /** Descriptions of every uncovered call, in plan order. */
  calls: string[];
  /** In-flight proposal ids whose next step (Safe execution or timelock batch) can run now. */
  executable: string[];
  /** Proposal ids whose ready batch only the Safe may execute, with no execution proposal yet: up writes one. */
  executeThroughSafe: string[];
}
