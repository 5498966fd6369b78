import { isAbsolute, join } from "node:path";
import { getAddress, isAddress, isHex, zeroHash, type Address, type Hex } from "viem";
import { z } from "zod";
import { ConfigError } from "../config/schema";
import { strictObject } from "../config/strict";
import type { ResourceKey } from "../plan/types";
import { ArtifactError, loadContractArtifact, type ContractArtifact } from "./artifact";
import { upgradeCallAbi } from "./call";
import { create2Address, type DeterministicDeployment } from "./create2";

/** A proxy implementation given as the artifact it was compiled to. */
export interface ImplementationSource {
  resource: ResourceKey;
  /** The config field, e.g. "kms.implementation". */
  path: string;
  address: Address;
  artifact: ContractArtifact;
  /** Set when the stack deploys it (no address given): CREATE2 through the deterministic deployment proxy. */
  deployment?: DeterministicDeployment;
  /** The artifact of the implementation the proxy runs now: the storage-layout reference. */
  current?: ContractArtifact;
}

const artifactRef = {
  artifact: z.string().min(1, "give the path of a solc standard-JSON output or a build-info file"),
  contract: z.string().min(1, 'name the contract, e.g. "DstackKmsV2"'),
};

const artifactImplementation = strictObject({
  ...artifactRef,
  /** Already deployed here: its code must match the artifact. Omitted: the stack deploys it by CREATE2. */
  address: z
    .string()
    .refine((v) => isAddress(v, { strict: false }), "must be a 0x-prefixed 20-byte address")
    .optional(),
  salt: z
    .string()
    .refine((v) => isHex(v) && v.length === 66, "must be a 0x-prefixed 32-byte hex value")
    .optional(),
  /** upgradeToAndCall data: a function of the artifact (by name or signature) and its arguments. */
  call: strictObject({ function: z.string().min(1), args: z.array(z.unknown()).default([]) }).optional(),
  current: strictObject(artifactRef).optional(),
});

function artifactPath(file: string, root: string): string {
  return isAbsolute(file) ? file : join(root, file);
}

function load(ref: { artifact: string; contract: string }, root: string, field: string): ContractArtifact {
  try {
    return loadContractArtifact(artifactPath(ref.artifact, root), ref.contract, field);
  } catch (error) {
    if (error instanceof ArtifactError)
      throw new ConfigError([{ path: error.field, message: `${error.problem}; fix: ${error.fix}` }]);
    throw error;
  }
}

/** A function of the artifact by name (unique) or by full signature, as a signature. */
function callSignature(artifact: ContractArtifact, fn: string, field: string): string {
  if (fn.includes("("))
    return `${upgradeCallAbi(fn).name}(${upgradeCallAbi(fn)
      .inputs.map((i) => i.type)
      .join(",")})`;
  const matches = artifact.abi.filter((item) => item.type === "function" && item.name === fn);
  if (matches.length !== 1) {
    throw new ConfigError([
      {
        path: `${field}.function`,
        message: `${artifact.name} has ${matches.length ? `${matches.length} functions named ${fn}; give the full signature` : `no function ${fn}`}`,
      },
    ]);
  }
  const item = matches[0] as unknown as { name: string; inputs: { type: string; components?: unknown }[] };
  if (item.inputs.some((i) => i.type.startsWith("tuple")))
    throw new ConfigError([
      { path: `${field}.function`, message: `${fn} takes a struct; give its full signature with the tuple type` },
    ]);
  return `${item.name}(${item.inputs.map((i) => i.type).join(",")})`;
}

/**
 * Proxy implementations given as `{ artifact, contract, ... }` become their address (given, or
 * where CREATE2 will put them), and `call` becomes `upgradeCall` with the full signature, before
 * validation; the artifacts stay with the stack for the deployment and the upgrade checks.
 */
export function resolveImplementations(
  raw: unknown,
  root: string,
): { raw: unknown; implementations: ImplementationSource[] } {
  if (typeof raw !== "object" || raw === null) return { raw, implementations: [] };
  const resolved = structuredClone(raw) as { kms?: Record<string, unknown>; apps?: Record<string, unknown>[] };
  const implementations: ImplementationSource[] = [];
  const resolveProxy = (proxy: Record<string, unknown> | undefined, resource: ResourceKey, path: string) => {
    const value = proxy?.implementation;
    if (!proxy || typeof value !== "object" || value === null) return;
    const parsed = artifactImplementation.safeParse(value);
    if (!parsed.success)
      throw new ConfigError(
        parsed.error.issues.map((issue) => ({ path: [path, ...issue.path].join("."), message: issue.message })),
      );
    const spec = parsed.data;
    const artifact = load(spec, root, path);
    const deployment = spec.address ? undefined : { salt: (spec.salt ?? zeroHash) as Hex, initcode: artifact.bytecode };
    const address = spec.address ? getAddress(spec.address) : create2Address(deployment!);
    if (spec.call) {
      if (proxy.upgradeCall !== undefined)
        throw new ConfigError([
          { path: `${path}.call`, message: `${path.replace(/implementation$/, "upgradeCall")} is given too; keep one` },
        ]);
      proxy.upgradeCall = {
        function: callSignature(artifact, spec.call.function, `${path}.call`),
        args: spec.call.args,
      };
    }
    proxy.implementation = address;
    implementations.push({
      resource,
      path,
      address,
      artifact,
      deployment,
      current: spec.current && load(spec.current, root, `${path}.current`),
    });
  };
  resolveProxy(resolved.kms, "kms", "kms.implementation");
  resolved.apps?.forEach((app, i) => resolveProxy(app, `app:${String(app.name)}`, `apps[${i}].implementation`));
  return { raw: resolved, implementations };
}
