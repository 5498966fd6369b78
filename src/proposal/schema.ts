import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";
import { z } from "zod";
import { SAFE_VERSIONS } from "../chain/safe-deployments";
import type { ProposalFile } from "./types";

// What a proposal file may hold, exactly: every read goes through this schema, so an unknown key,
// a wrong format version or a malformed value is refused before anything is shown or signed.

const address = z
  .string()
  .refine((v) => isAddress(v, { strict: true }), { message: "must be a checksummed 20-byte address" })
  .transform((v) => getAddress(v) as Address);
const hex = z
  .string()
  .refine((v) => isHex(v) && v.length % 2 === 0, { message: "must be 0x-prefixed hex bytes" })
  .transform((v) => v as Hex);
const hash = z
  .string()
  .refine((v) => isHex(v) && v.length === 66, { message: "must be a 0x-prefixed 32-byte hash" })
  .transform((v) => v as Hex);
const uint = z.string().regex(/^\d+$/, "must be a decimal integer string");

const safeTxSchema = z.strictObject({
  to: address,
  value: uint,
  data: hex,
  operation: z.union([z.literal(0), z.literal(1)]),
  safeTxGas: uint,
  baseGas: uint,
  gasPrice: uint,
  gasToken: address,
  refundReceiver: address,
  nonce: uint,
});

const timelockSchema = z.strictObject({
  address,
  operationId: hash,
  salt: hash,
  predecessor: hash,
  delay: uint,
  targets: z.array(address),
  values: z.array(uint),
  payloads: z.array(hex),
  cancels: z.array(hash),
  cancelled: z
    .array(
      z.strictObject({
        operationId: hash,
        proposal: z.string().optional(),
        calls: z.array(z.string()),
        rescheduled: z.boolean(),
      }),
    )
    .optional(),
  expiryEnforcedBy: z.enum(["contract", "tool"]).optional(),
  expiration: uint.optional(),
});

const callSchema = z.strictObject({
  resource: z.string(),
  property: z.string(),
  description: z.string(),
  to: address,
  sender: address,
  functionName: z.string(),
  signature: z.string(),
  args: z.array(z.string()),
  data: hex,
  revokes: z.boolean(),
  upgradeCall: z.string().optional(),
  change: z.string().optional(),
});

export const proposalFileSchema = z.strictObject({
  format: z.literal("dstack-governance-proposal/1"),
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be a proposal id like 3-1a2b3c4d"),
  stack: z.string().min(1),
  chainId: z.number().int().positive(),
  route: z.enum(["safe", "safe+timelock"]),
  plannedAtBlock: uint,
  plannedAt: z.string(),
  emergency: z.boolean(),
  safe: z.strictObject({
    address,
    version: z.enum(SAFE_VERSIONS).optional(),
    nonce: uint,
    threshold: z.number().int().positive(),
    owners: z.array(address).min(1),
  }),
  safeTx: safeTxSchema,
  safeTxHash: hash,
  eip712: z.strictObject({ domainHash: hash, messageHash: hash }),
  timelock: timelockSchema.optional(),
  executes: z
    .strictObject({
      proposalId: z.string(),
      timelock: address,
      operationId: hash,
      expiresAt: uint,
      expiryEnforcedBy: z.enum(["contract", "tool"]),
    })
    .optional(),
  calls: z.array(callSchema),
  signatures: z.array(z.strictObject({ signer: address, data: hex })),
  overrides: z.array(z.strictObject({ rule: z.string(), reason: z.string() })).optional(),
  convergence: z.strictObject({ forkedAtBlock: uint, steps: z.array(z.string()) }).optional(),
  organisations: z.record(z.string(), z.string()).optional(),
  expectedState: z
    .strictObject({
      safe: z.strictObject({ owners: z.array(address), threshold: z.number().int().positive() }).optional(),
      timelock: z.strictObject({ delay: uint, expiration: uint }).optional(),
      osImages: z.array(hash),
      composeHashes: z.record(z.string(), z.array(hash)),
      owners: z.record(z.string(), address),
      implementations: z.record(z.string(), address),
    })
    .optional(),
});

// Every field the writer can put in a file has a schema entry: a field added to ProposalFile alone
// would make every new file unreadable, so it fails to compile here instead.
type ParsedFile = z.infer<typeof proposalFileSchema>;
type Unschematized<T, U> = Exclude<keyof T, keyof U>;
export const everyFieldSchematized: Record<
  | Unschematized<ProposalFile, ParsedFile>
  | Unschematized<ProposalFile["safe"], ParsedFile["safe"]>
  | Unschematized<NonNullable<ProposalFile["timelock"]>, NonNullable<ParsedFile["timelock"]>>
  | Unschematized<NonNullable<ProposalFile["executes"]>, NonNullable<ParsedFile["executes"]>>,
  never
> = {};

/** A proposal file that cannot be used: not JSON, or not a proposal of this format. */
export class UnreadableProposalError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: unreadable (${reason}); fix or delete the file, or regenerate it with pulumi up`);
    this.name = "UnreadableProposalError";
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)),
    "",
  );
}

/** Parses the text of proposals/<stack>/<file>; every problem names the file and the field. */
export function parseProposalFile(file: string, text: string): ProposalFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UnreadableProposalError(file, `not JSON: ${(error as Error).message}`);
  }
  const result = proposalFileSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${fieldPath(issue.path) || "(file)"}: ${issue.message}`);
    throw new UnreadableProposalError(file, issues.join("; "));
  }
  return result.data as ProposalFile;
}
