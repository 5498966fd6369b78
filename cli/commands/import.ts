import { existsSync } from "node:fs";
import { join } from "node:path";
import { assertChainId, createChainClient } from "../../src/chain/client";
import { readLiveState } from "../../src/chain/read-state";
import { findDeploymentBlock } from "../../src/chain/start-block";
import { parseStackConfig } from "../../src/config/schema";
import { renderStackFile, stackFilePath } from "../../src/config/stack-file";
import { planChanges } from "../../src/plan/plan";
import { writeFileAtomic } from "../../src/proposal/atomic-write";
import { formatDuration, parseDuration } from "../../src/config/duration";
import { RECOMMENDED } from "../../src/policy/recommended";
import { configFromLive, parseAddress, probeConfig, type DeploymentLocation } from "../live-config";
import { hashesFileText, INLINE_HASHES, moveLongSets } from "../long-sets";
import type { StackLocation } from "../stack";

export interface ImportOptions {
  rpc?: string;
  "chain-id"?: string;
  kms?: string;
  app?: string[];
  mode?: string;
  safe?: string;
  timelock?: string;
  admin?: string;
  tier?: string;
  "start-block"?: string;
  expiration?: string;
}

function wholeNumber(option: string, text: string | undefined, fallback?: number): number {
  if (text === undefined && fallback !== undefined) return fallback;
  if (text === undefined || !/^\d+$/.test(text)) throw new Error(`--${option}: give a whole number`);
  return Number(text);
}

function governanceLocation(options: ImportOptions): DeploymentLocation["governance"] {
  switch (options.mode) {
    case "direct":
      return { mode: "direct", admin: parseAddress("--admin", options.admin) };
    case "safe":
      return { mode: "safe", safe: parseAddress("--safe", options.safe) };
    case "safe+timelock":
      return {
        mode: "safe+timelock",
        safe: parseAddress("--safe", options.safe),
        timelock: parseAddress("--timelock", options.timelock),
      };
    default:
      throw new Error('--mode: give "safe+timelock", "safe" or "direct"');
  }
}

/** A stock timelock has no expiration on chain: the window this tool enforces is declared (default: the tier's recommended minimum). */
function enforcedExpiration(text: string | undefined, tier: "production" | "non-production"): bigint {
  if (text === undefined) return RECOMMENDED[tier].expiration.min;
  const seconds = parseDuration(text);
  if (seconds === undefined) throw new Error('--expiration: give a duration like "7d" or "14d"');
  return seconds;
}

/** The import options as a deployment location; every missing or malformed option is named. */
export function deploymentLocation(options: ImportOptions): DeploymentLocation {
  if (!options.rpc) throw new Error("--rpc: give the RPC URL of the deployment's chain");
  if (options.tier !== "production" && options.tier !== "non-production")
    throw new Error('--tier: give "production" or "non-production"');
  const apps = (options.app ?? []).map((spec) => {
    const match = /^([^=]+)=([^=]+)$/.exec(spec);
    if (!match) throw new Error(`--app ${spec}: write it as name=proxyAddress`);
    return { name: match[1], proxy: parseAddress(`--app ${match[1]}`, match[2]) };
  });
  return {
    tier: options.tier,
    chainId: wholeNumber("chain-id", options["chain-id"]),
    rpcUrl: options.rpc,
    startBlock: options["start-block"] === undefined ? undefined : wholeNumber("start-block", options["start-block"]),
    kms: parseAddress("--kms", options.kms),
    apps,
    governance: governanceLocation(options),
    expiration: enforcedExpiration(options.expiration, options.tier),
  };
}

/** Reads the deployment as it is and writes Pulumi.<stack>.yaml declaring exactly that (long sets in files beside it). */
export async function importStack(
  location: StackLocation,
  deployment: DeploymentLocation,
  force: boolean,
): Promise<string> {
  const path = stackFilePath(location.root, location.name);
  if (existsSync(path) && !force) throw new Error(`${path} exists; pass --force to replace it`);
  const client = createChainClient({ chainId: deployment.chainId, rpcUrls: [deployment.rpcUrl] });
  await assertChainId(client, deployment.chainId);
  // Without --start-block, the proxies' deployment block is searched for and written down.
  let startBlock = deployment.startBlock;
  if (startBlock === undefined) {
    const deployed = await findDeploymentBlock(
      client,
      [deployment.kms, ...deployment.apps.map((app) => app.proxy)],
      await client.getBlockNumber(),
    );
    startBlock = deployed.found ? Number(deployed.block) : 0;
  }
  const located = { ...deployment, startBlock };
  const live = await readLiveState(client, probeConfig(located));
  const input = configFromLive(located, live);
  // What a stack cannot declare (e.g. a timelock missing the Safe's roles) would be proposed on the first run: say so now.
  const leftover = planChanges(parseStackConfig(input), live);
  const { config: written, files } = moveLongSets(input, location.name);
  const existing = files.map((file) => join(location.root, file.path)).find((file) => existsSync(file) && !force);
  if (existing) throw new Error(`${existing} exists; pass --force to replace it`);
  // The sets' files first: a stack file never names a file that is not there.
  for (const file of files)
    await writeFileAtomic(join(location.root, file.path), hashesFileText(file, location.name, live.blockNumber));
  await writeFileAtomic(path, renderStackFile(written));

  const owned = [input.kms, ...(input.apps ?? [])]
    .filter((c) => c.owner)
    .map(
      (c) =>
        `  - ${"name" in c ? c.name : "KMS"} is owned by ${c.owner}, not by the governance owner: the config keeps it so`,
    );
  return [
    `wrote ${path} from block ${live.blockNumber}: KMS ${live.kms.proxy} (${live.kms.osImages.length} OS images), ${live.apps.length} app(s), ${deployment.governance.mode} governance`,
    ...owned,
    ...files.map(
      (file) =>
        `  - ${file.field} (${file.hashes.length} hashes) is listed in ${file.path}: a stack file keeps at most ${INLINE_HASHES} hashes inline (Pulumi passes the config in one environment variable, which holds about 1,900)`,
    ),
    ...(live.timelock?.kind === "openzeppelin"
      ? [
          `  - the timelock is a stock OpenZeppelin TimelockController: its ${formatDuration(deployment.expiration)} expiration is enforced by this tool, not by the contract (set it with --expiration)`,
        ]
      : []),
    ...(leftover.length
      ? [
          "the first plan will still propose these (the config cannot declare them otherwise):",
          ...leftover.map((c) => `  - ${c.description}`),
        ]
      : []),
  ].join("\n");
}
