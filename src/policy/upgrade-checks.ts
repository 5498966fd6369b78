import type { Address, PublicClient } from "viem";
import { dstackKmsAbi } from "../chain/abis";
import { IMPLEMENTATION_SLOT, type LiveState } from "../chain/read-state";
import type { StackConfig } from "../config/schema";
import { compareRuntimeBytecode } from "../implementation/bytecode";
import { layoutUpgradeReport, storageLayoutOf } from "../implementation/layout";
import { readLayoutRecord } from "../implementation/layout-records";
import type { ImplementationSource } from "../implementation/resolve";
import { implementationOf, isImplementationChange } from "../plan/changes";
import type { PlannedCall } from "../plan/types";
import type { Finding } from "./findings";

/** The config field an implementation-setting call reconciles. */
export function implementationPath(config: StackConfig, call: PlannedCall): string {
  if (call.change.kind === "setting") return "kms.appImplementation";
  if (call.resource === "kms") return "kms.implementation";
  return `apps[${config.apps.findIndex((a) => `app:${a.name}` === call.resource)}].implementation`;
}

/** The new implementation must be a UUPS contract for this proxy kind: code, and the ERC-1967 slot as its proxiableUUID. */
async function implementationFindings(
  client: PublicClient,
  blockNumber: bigint,
  implementation: Address,
  path: string,
): Promise<Finding[]> {
  const code = await client.getCode({ address: implementation, blockNumber });
  if (!code || code === "0x") {
    return [
      {
        rule: "upgrade.no-code",
        path,
        message: `implementation ${implementation} has no code at block ${blockNumber}`,
        fix: `deploy the implementation first, or correct ${path}`,
      },
    ];
  }
  const uuid = await client
    .readContract({ address: implementation, abi: dstackKmsAbi, functionName: "proxiableUUID", blockNumber })
    .catch(() => undefined);
  if (uuid?.toLowerCase() === IMPLEMENTATION_SLOT) return [];
  return [
    {
      rule: "upgrade.proxiable-uuid",
      path,
      message: uuid
        ? `implementation ${implementation} reports proxiableUUID ${uuid}, not the ERC-1967 slot ${IMPLEMENTATION_SLOT}`
        : `implementation ${implementation} has no proxiableUUID(): it is not a UUPS implementation`,
      fix: `point ${path} at a UUPSUpgradeable implementation (OpenZeppelin v5)`,
    },
  ];
}

/** What the upgrade checks know beyond the chain: the artifacts the config named, and where layouts are recorded. */
export interface UpgradeContext {
  implementations: readonly ImplementationSource[];
  root: string;
  stack: string;
}

/** An implementation this stack deploys itself, before its deployment: the artifact must be UUPS. */
function undeployedFindings(source: ImplementationSource): Finding[] {
  const functions = new Set(source.artifact.abi.flatMap((item) => (item.type === "function" ? [item.name] : [])));
  if (functions.has("proxiableUUID") && functions.has("upgradeToAndCall")) return [];
  return [
    {
      rule: "upgrade.proxiable-uuid",
      path: source.path,
      message: `${source.artifact.name} has no proxiableUUID()/upgradeToAndCall(): it is not a UUPS implementation`,
      fix: `name a UUPSUpgradeable contract (OpenZeppelin v5) in ${source.path}.contract`,
    },
  ];
}

/** Deployed code against the artifact: "none" refuses, "partial" (metadata only) warns. */
async function bytecodeFindings(
  client: PublicClient,
  blockNumber: bigint,
  address: Address,
  artifact: ImplementationSource["artifact"],
  path: string,
): Promise<{ errors: Finding[]; warnings: Finding[] }> {
  const code = (await client.getCode({ address, blockNumber })) ?? "0x";
  const result = compareRuntimeBytecode(code, artifact);
  if (result.match === "full") return { errors: [], warnings: [] };
  if (result.match === "partial") {
    return {
      errors: [],
      warnings: [
        {
          rule: "upgrade.bytecode-metadata",
          path,
          message: `the code at ${address} matches ${artifact.name} except its metadata hash (a partial match: same code, other sources' comments or paths)`,
          fix: `build from the exact sources deployed if the metadata matters`,
        },
      ],
    };
  }
  return {
    errors: [
      {
        rule: "upgrade.bytecode-mismatch",
        path,
        message: `the code at ${address} is not ${artifact.name} from ${artifact.file}: ${result.reason}`,
        fix: `point ${path}.address at a deployment of that artifact, or omit the address to deploy it`,
      },
    ],
    warnings: [],
  };
}

/** The library's storage-layout verdict between what the proxy runs now and the new implementation. */
async function layoutFindings(
  client: PublicClient,
  live: LiveState,
  proxyImplementation: Address,
  source: ImplementationSource,
  context: UpgradeContext,
): Promise<{ errors: Finding[]; warnings: Finding[] }> {
  let current: ReturnType<typeof storageLayoutOf> | undefined;
  const warnings: Finding[] = [];
  if (source.current) {
    const proof = await bytecodeFindings(
      client,
      live.blockNumber,
      proxyImplementation,
      source.current,
      `${source.path}.current`,
    );
    if (proof.errors.length)
      return {
        errors: proof.errors.map((f) => ({
          ...f,
          fix: `name the artifact of ${proxyImplementation}, the implementation the proxy runs now, in ${source.path}.current`,
        })),
        warnings: [],
      };
    warnings.push(...proof.warnings);
    current = storageLayoutOf(source.current);
  } else {
    current = (await readLayoutRecord(context.root, context.stack, proxyImplementation))?.layout;
  }
  if (!current) {
    return {
      errors: [
        {
          rule: "upgrade.no-layout-reference",
          path: source.path,
          message: `no storage layout is known for ${proxyImplementation}, the implementation the proxy runs now (no artifact given, none recorded in proposals/${context.stack}/layouts/)`,
          fix: `give ${source.path}.current: { artifact, contract } for it`,
        },
      ],
      warnings,
    };
  }
  const report = layoutUpgradeReport(current, storageLayoutOf(source.artifact));
  if (report.pass) return { errors: [], warnings };
  return {
    errors: [
      {
        rule: "upgrade.storage-layout",
        path: source.path,
        message: `upgrading ${proxyImplementation} to ${source.artifact.name} is unsafe, @openzeppelin/upgrades-core reports:\n${report.explain.replace(/^/gm, "      ")}`,
        fix: "keep every existing variable in its slot: add new variables after the existing ones (or use a gap)",
      },
    ],
    warnings,
  };
}

/** Pre-checks of every planned upgrade, at the plan's pinned block, with messages a reviewer can act on. */
export async function checkUpgrades(
  client: PublicClient,
  config: StackConfig,
  live: LiveState,
  calls: readonly PlannedCall[],
  context?: UpgradeContext,
): Promise<{ errors: Finding[]; warnings: Finding[] }> {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  for (const call of calls.filter((c) => isImplementationChange(c.change))) {
    const path = implementationPath(config, call);
    const app = live.apps.find((a) => `app:${a.name}` === call.resource);
    if (call.change.kind === "upgrade" && app?.upgradesDisabled) {
      errors.push({
        rule: "upgrade.disabled",
        path,
        message: `app ${app.name} has upgrades permanently disabled (its private flag is set, by disableUpgrades() or at creation)`,
        fix: `remove ${path}: this app can never be upgraded; deploy a new app instead`,
      });
      continue;
    }
    const implementation = implementationOf(call.change);
    const source =
      call.change.kind === "upgrade"
        ? context?.implementations.find((s) => s.resource === call.resource && s.address === implementation)
        : undefined;
    const code = source?.deployment
      ? await client.getCode({ address: implementation, blockNumber: live.blockNumber })
      : undefined;
    // Not deployed yet: this stack deploys it (a resource applied before the proposal), checked again then.
    const pending = source?.deployment && (!code || code === "0x");
    errors.push(
      ...(pending
        ? undeployedFindings(source!)
        : await implementationFindings(client, live.blockNumber, implementation, path)),
    );
    if (!source) continue;
    if (!source.deployment) {
      const proof = await bytecodeFindings(client, live.blockNumber, implementation, source.artifact, path);
      errors.push(...proof.errors);
      warnings.push(...proof.warnings);
    }
    const proxy = call.resource === "kms" ? live.kms : app!;
    const layout = await layoutFindings(client, live, proxy.implementation, source, context!);
    errors.push(...layout.errors);
    warnings.push(...layout.warnings);
  }
  return { errors, warnings };
}
