import { getAddress, isHex, zeroAddress, type Address, type Hex } from "viem";
import { addressProblem } from "./addresses";
import { z } from "zod";
import { GovernanceError } from "../errors";
import { encodeUpgradeCall } from "../implementation/call";
import { parseDuration } from "./duration";
import { strictObject } from "./strict";

const address = z
  .string()
  .superRefine((value, ctx) => {
    const problem = addressProblem(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform((value) => getAddress(value) as Address);

const bytes32 = z
  .string()
  .refine((value) => isHex(value) && value.length === 66, {
    message: "must be a 0x-prefixed 32-byte hex hash (66 characters)",
  })
  .transform((value) => value.toLowerCase() as Hex);

const bytes = z
  .string()
  .refine((value) => isHex(value) && value.length % 2 === 0, {
    message: "must be 0x-prefixed hex bytes ('0x' for empty)",
  })
  .transform((value) => value.toLowerCase() as Hex);

const duration = z
  .string()
  .refine((value) => parseDuration(value) !== undefined, { message: 'must be a duration like "90m", "48h" or "14d"' })
  .transform((value) => parseDuration(value)!);

const SAFE_SENTINEL = "0x0000000000000000000000000000000000000001";

/** Indexes of the entries that repeat an earlier one. */
function repeatedIndexes(values: readonly string[]): number[] {
  return values.flatMap((value, index) => (values.indexOf(value) < index ? [index] : []));
}

/** A set of measurements: duplicates are a typo waiting to hide a missing hash. */
const hashSet = z.array(bytes32).superRefine((hashes, ctx) => {
  for (const index of repeatedIndexes(hashes))
    ctx.addIssue({
      code: "custom",
      path: [index],
      message: `duplicate hash ${hashes[index]}; list each measurement once`,
    });
});

export const networkSchema = strictObject({
  /** Governance policy tier: production enforces the seed's recommended configuration. */
  tier: z.enum(["production", "non-production"]),
  chainId: z.number().int().positive(),
  rpcUrls: z.array(z.url({ protocol: /^https?$/ })).min(1, "give at least one RPC URL"),
  /** First block to scan for Added/Removed events (the proxies' deployment block); absent: searched for. */
  startBlock: z.number().int().nonnegative().optional(),
  /** Largest eth_getLogs range to ask for; absent: as large as the RPC accepts (learned from its refusals). */
  logChunkSize: z.number().int().positive().optional(),
  /** eth_getLogs requests in flight at once during a scan. */
  logScanConcurrency: z.number().int().positive().max(64).default(8),
});

const owner = strictObject({ address, org: z.string().min(1, "name the signer's organisation") });

export const safeSchema = strictObject({
  address,
  owners: z.array(owner).min(1, "a Safe needs at least one owner"),
  threshold: z.number().int().positive(),
}).superRefine((safe, ctx) => {
  if (safe.threshold > safe.owners.length) {
    ctx.addIssue({
      code: "custom",
      path: ["threshold"],
      message: `threshold ${safe.threshold} exceeds the ${safe.owners.length} owners; lower it or add owners`,
    });
  }
  for (const index of repeatedIndexes(safe.owners.map((o) => o.address)))
    ctx.addIssue({
      code: "custom",
      path: ["owners", index, "address"],
      message: `owner ${safe.owners[index].address} is listed twice`,
    });
});

/** The timelock contracts the tool governs; detected on chain and checked against the declaration. */
export const TIMELOCK_KINDS = ["expiring", "openzeppelin"] as const;
export const SAFE_CHANGE_ROUTES = ["through-timelock", "immediate"] as const;
export type SafeChangeRoute = (typeof SAFE_CHANGE_ROUTES)[number];
export type TimelockKind = (typeof TIMELOCK_KINDS)[number];

export const timelockSchema = strictObject({
  address,
  /**
   * expiring: ExpiringTimelock, whose contract refuses operations past `expiration`;
   * openzeppelin: a stock TimelockController, where this tool enforces `expiration` itself.
   */
  kind: z.enum(TIMELOCK_KINDS, { message: `must be one of ${TIMELOCK_KINDS.join(", ")}` }).default("expiring"),
  delay: duration,
  expiration: duration,
  /** Who may execute a ready operation: "anyone" (EXECUTOR_ROLE of the zero address) or exactly these accounts. */
  executors: z.union([z.literal("anyone"), z.array(address)]).default("anyone"),
  /** Who may schedule; omitted = the Safe only. Any other holder is revoked. */
  proposers: z.array(address).optional(),
  /** Who may cancel; omitted = the Safe only. Any other holder is revoked. */
  cancellers: z.array(address).optional(),
  /** DEFAULT_ADMIN_ROLE holders besides the timelock itself; omitted = none (policy: never on production). */
  admins: z.array(address).optional(),
  /**
   * How Safe signer and threshold changes take effect: "through-timelock" (the timelock is enabled
   * as a Safe module and schedules them, so they wait out the delay) or "immediate" (Safe self-calls,
   * effective when the Safe transaction executes). Omitted: through-timelock on production, immediate elsewhere.
   */
  safeChanges: z.enum(SAFE_CHANGE_ROUTES, { message: `must be one of ${SAFE_CHANGE_ROUTES.join(", ")}` }).optional(),
});

/** The route of Safe signer and threshold changes on a stack with a timelock (see timelockSchema.safeChanges). */
export function safeChangeRoute(config: StackConfig): SafeChangeRoute | undefined {
  const g = config.governance;
  if (g.mode !== "safe+timelock") return undefined;
  return g.timelock.safeChanges ?? (config.network.tier === "production" ? "through-timelock" : "immediate");
}

const governanceSchema = z.discriminatedUnion("mode", [
  strictObject({ mode: z.literal("direct"), admin: address }),
  strictObject({ mode: z.literal("safe"), safe: safeSchema }),
  strictObject({ mode: z.literal("safe+timelock"), safe: safeSchema, timelock: timelockSchema }),
]);

/** The call upgradeToAndCall runs in the proxy after switching code (e.g. a reinitializer). */
const upgradeCall = strictObject({
  function: z.string().min(1, 'give a function signature, e.g. "initializeV2(string)"'),
  args: z.array(z.unknown()).default([]),
}).superRefine((call, ctx) => {
  try {
    encodeUpgradeCall(call);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: `cannot encode ${call.function}: ${(error as Error).message.split("\n")[0]}`,
    });
  }
});

const proxy = {
  proxy: address,
  /**
   * The ERC1967 implementation the proxy must point at; omitted = leave as is. Given as a build
   * artifact ({ artifact, contract, ... }), it is resolved to its address before validation
   * (src/implementation/resolve.ts).
   */
  implementation: address.optional(),
  /** Data for the upgrade: what the new implementation runs in the proxy as it takes over. */
  upgradeCall: upgradeCall.optional(),
  /** Omitted = the governance owner (timelock, Safe or admin). */
  owner: address.optional(),
};

const kmsInfo = strictObject({ k256Pubkey: bytes, caPubkey: bytes, quote: bytes, eventlog: bytes });

export const kmsSchema = strictObject({
  ...proxy,
  osImages: hashSet,
  /** Omitted = not governed: live members stay as they are ([] empties the set). */
  aggregatedMrs: hashSet.optional(),
  devices: hashSet.optional(),
  gatewayAppId: z.string().optional(),
  appImplementation: address.optional(),
  info: kmsInfo.optional(),
});

export const appSchema = strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "use lower-case letters, digits and dashes"),
  ...proxy,
  composeHashes: hashSet,
  /** Omitted = not governed: live devices stay as they are ([] revokes every device). */
  devices: hashSet.optional(),
  /** Omitted = not governed. */
  allowAnyDevice: z.boolean().optional(),
  /** Boot only on an up-to-date TCB (DstackApp v0.5.10+); omitted = not governed. */
  requireTcbUpToDate: z.boolean().optional(),
  /** An empty compose set stops the app from booting anywhere: only on purpose (rail.empty-compose-hashes). */
  allowEmptyComposeHashes: z.boolean().optional(),
});

/** The seed's recommended-configuration rules: the only ones an override can let through. */
export const RECOMMENDATION_RULES = [
  "signers.count",
  "signers.organisations",
  "threshold.ratio",
  "timelock.delay",
  "timelock.expiration",
  "timelock.bypass",
] as const;
export type RecommendationRule = (typeof RECOMMENDATION_RULES)[number];
/** Rules a written override can let through: the recommendations, and shrinking a set by more than half. */
export const OVERRIDABLE_RULES = [...RECOMMENDATION_RULES, "set.mass-removal", "signers.immediate"] as const;
export type OverridableRule = (typeof OVERRIDABLE_RULES)[number];

/** Short reasons ("ok", "temp") document nothing: a reviewer must learn why governance is weaker. */
const MIN_OVERRIDE_REASON = 20;

const overrideSchema = strictObject({
  rule: z.enum(OVERRIDABLE_RULES, { message: `must be one of ${OVERRIDABLE_RULES.join(", ")}` }),
  reason: z
    .string()
    .trim()
    .min(
      MIN_OVERRIDE_REASON,
      `write why the recommendation does not fit (at least ${MIN_OVERRIDE_REASON} characters); it is recorded in every proposal`,
    ),
});

export const policySchema = strictObject({
  /** Recommendation violations accepted on purpose; each reason goes into the proposal. */
  overrides: z.array(overrideSchema).default([]),
  /** An empty OS image set stops every CVM from booting: only on purpose (rail.empty-os-images). */
  allowEmptyOsImages: z.boolean().default(false),
  /** Hand a contract to an owner other than the timelock or Safe (rail.ownership-transfer). */
  allowOwnershipTransfer: z.boolean().default(false),
  /** Run each proposal on an anvil fork (Safe, time warp, timelock) and require an empty plan after it. */
  proveConvergence: z.boolean().default(true),
  /** Promotion gate: authorize only what this (non-production) stack already has on its chain. */
  promotion: strictObject({ fromStack: z.string().min(1, "name the non-production stack, e.g. testnet") }).optional(),
}).superRefine((policy, ctx) => {
  for (const index of repeatedIndexes(policy.overrides.map((o) => o.rule)))
    ctx.addIssue({
      code: "custom",
      path: ["overrides", index, "rule"],
      message: `rule ${policy.overrides[index].rule} is overridden twice; keep one entry with one reason`,
    });
});

export const stackConfigSchema = strictObject({
  network: networkSchema,
  governance: governanceSchema,
  kms: kmsSchema,
  apps: z.array(appSchema).default([]),
  /** Omitted = the defaults: no overrides, no empty sets, no transfers away, no promotion gate. */
  policy: policySchema.optional(),
}).superRefine((config, ctx) => {
  const governance = config.governance;
  if (governance.mode !== "direct") {
    // The Safe refuses these (GS203) or they lock it: name them at preview, not at execution.
    const impossible = new Map<string, string>([
      [zeroAddress, "the zero address cannot sign"],
      [SAFE_SENTINEL, "0x…01 is the Safe's list sentinel, not a signer"],
      [governance.safe.address, "that is the Safe itself: it cannot sign its own transactions"],
      ...(governance.mode === "safe+timelock"
        ? ([[governance.timelock.address, "that is the timelock: it cannot sign Safe transactions"]] as const)
        : []),
    ]);
    governance.safe.owners.forEach((o, index) => {
      const why = impossible.get(o.address);
      if (why)
        ctx.addIssue({
          code: "custom",
          path: ["governance", "safe", "owners", index, "address"],
          message: `${o.address} is not a possible owner: ${why}`,
        });
    });
  }
  const names = new Set<string>();
  config.apps.forEach((app, index) => {
    if (names.has(app.name))
      ctx.addIssue({ code: "custom", path: ["apps", index, "name"], message: `app name "${app.name}" is used twice` });
    names.add(app.name);
  });
});

export type StackConfig = z.infer<typeof stackConfigSchema>;
/** The config keys that make up a StackConfig; secrets (keys) live beside them, never inside. */
export const SECTIONS = Object.keys(stackConfigSchema.shape) as (keyof StackConfig)[];
export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type GovernanceConfig = StackConfig["governance"];
export type KmsConfig = StackConfig["kms"];
export type AppConfig = StackConfig["apps"][number];
export type GovernanceMode = GovernanceConfig["mode"];
export type TimelockConfig = z.infer<typeof timelockSchema>;
export type PolicyConfig = z.infer<typeof policySchema>;

/** The stack's policy with every default filled in (a config without a policy section has the defaults). */
export function policyOf(config: StackConfig): PolicyConfig {
  return config.policy ?? policySchema.parse({});
}

export class ConfigError extends GovernanceError {
  constructor(readonly problems: { path: string; message: string }[]) {
    super("config", "invalid stack config", problems);
    this.name = "ConfigError";
  }
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)),
    "",
  );
}

/** The shipped stack files mark what each deployment fills in with REPLACE_ME. */
const FILL_IN_MARK = "REPLACE_ME";

/** Paths of values still holding a fill-in mark: valid-looking text (an org name) must not slip through. */
function fillInMarks(value: unknown, path: PropertyKey[] = []): PropertyKey[][] {
  if (typeof value === "string") return value.includes(FILL_IN_MARK) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => fillInMarks(item, [...path, i]));
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([key, item]) => fillInMarks(item, [...path, key]));
  return [];
}

const describeValue = (value: unknown) =>
  value === null
    ? "null"
    : Array.isArray(value)
      ? "a list"
      : typeof value === "object"
        ? "a map"
        : `${typeof value} ${JSON.stringify(value)}`.slice(0, 60);

/** Plain wording instead of zod's defaults ("Too small: expected number to be >0"). */
const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "required";
      return `must be ${issue.expected === "array" ? "a list" : issue.expected === "object" ? "a map" : `a ${issue.expected}`}, not ${describeValue(issue.input)}`;
    case "too_small":
      return issue.origin === "number"
        ? `must be ${issue.inclusive ? "at least" : "more than"} ${issue.minimum}`
        : `must have at least ${issue.minimum} ${issue.origin === "array" ? "entries" : "characters"}`;
    case "too_big":
      return issue.origin === "number"
        ? `must be at most ${issue.maximum}`
        : `must have at most ${issue.maximum} ${issue.origin === "array" ? "entries" : "characters"}`;
    case "invalid_value":
      return `must be ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`}`;
    case "invalid_union":
      return issue.note === "No matching discriminator"
        ? `must be one of "direct", "safe", "safe+timelock"`
        : undefined;
    case "invalid_format":
      return issue.format === "url" ? "must be an http(s) URL" : undefined;
    default:
      return undefined;
  }
};

/** Each issue as "path: message"; an unknown key that is a typo of a missing required key replaces the "required". */
function describeIssues(issues: readonly z.core.$ZodIssue[]): { path: string; message: string }[] {
  const lines: { path: string; message: string }[] = [];
  const suggested = new Set<string>();
  for (const issue of issues) {
    const base = issuePath(issue.path);
    if (issue.code !== "unrecognized_keys") continue;
    const messages = issue.message.split("\n");
    issue.keys.forEach((key, i) => {
      const message = messages[i] ?? "unknown key";
      lines.push({ path: base ? `${base}.${key}` : key, message });
      const meant = /did you mean "(.+)"\?/.exec(message)?.[1];
      if (meant) suggested.add(base ? `${base}.${meant}` : meant);
    });
  }
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") continue;
    const path = issuePath(issue.path);
    if (issue.message === "required" && suggested.has(path)) continue;
    lines.push({ path: path || "(root)", message: issue.message });
  }
  return lines;
}

/** Validates a stack config; every error names the field path and what would be valid. */
export function parseStackConfig(input: unknown): StackConfig {
  const marks = fillInMarks(input).map((path) => issuePath(path));
  const result = stackConfigSchema.safeParse(input, { error: configErrorMap });
  if (result.success && marks.length === 0) return result.data;
  const issues = (result.success ? [] : describeIssues(result.error.issues)).filter(
    (issue) => !marks.includes(issue.path),
  );
  throw new ConfigError([
    ...marks.map((path) => ({
      path,
      message: `still the ${FILL_IN_MARK} placeholder; fill in this deployment's value`,
    })),
    ...issues,
  ]);
}

/** The address that owns the dstack contracts when the config names no other owner. */
export function governanceOwner(governance: GovernanceConfig): Address {
  switch (governance.mode) {
    case "direct":
      return governance.admin;
    case "safe":
      return governance.safe.address;
    case "safe+timelock":
      return governance.timelock.address;
  }
}
