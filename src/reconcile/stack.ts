import type { PublicClient } from "viem";
import { assertChainId, createChainClient } from "../chain/client";
import { checkpointPath, fileCheckpointStore, type CheckpointStore } from "../chain/scan-checkpoints";
import { addressWarnings } from "../config/addresses";
import { parseStackConfig, type StackConfig } from "../config/schema";
import { resolveImplementations, type ImplementationSource } from "../implementation/resolve";
import { resolveMeasurements, type MeasuredByCommand } from "../measurements/resolve";
import type { Finding } from "../policy/findings";

export interface Stack {
  name: string;
  /** Where proposals/<stack>/ lives. */
  root: string;
  config: StackConfig;
  client: PublicClient;
  /** Config warnings (e.g. addresses without an EIP-55 checksum): shown, never blocking. */
  warnings: Finding[];
  /** Where event scans resume from (checkpoints/<stack>*.json), and what reads found the stack file should say. */
  scans: {
    checkpoints: CheckpointStore;
    scheduled: CheckpointStore;
    executions: CheckpointStore;
    notices: Set<string>;
    onNotice?: (message: string) => void;
  };
  /** Implementations the config gives as build artifacts (to deploy, to prove, to check the layout of). */
  implementations: ImplementationSource[];
}

/** Validates the raw config and connects; the RPC must serve the declared chain. */
export async function openStack(args: {
  name: string;
  root: string;
  rawConfig: unknown;
  measured?: MeasuredByCommand;
  onRequest?: () => void;
  onNotice?: (message: string) => void;
}): Promise<Stack> {
  const { raw, implementations } = resolveImplementations(
    resolveMeasurements(args.rawConfig, args.root, args.measured),
    args.root,
  );
  const config = parseStackConfig(raw);
  const client = createChainClient({
    chainId: config.network.chainId,
    rpcUrls: config.network.rpcUrls,
    onRequest: args.onRequest,
  });
  await assertChainId(client, config.network.chainId);
  return {
    name: args.name,
    root: args.root,
    config,
    client,
    warnings: addressWarnings(args.rawConfig),
    scans: {
      checkpoints: fileCheckpointStore(checkpointPath(args.root, args.name)),
      scheduled: fileCheckpointStore(checkpointPath(args.root, args.name, "scheduled")),
      executions: fileCheckpointStore(checkpointPath(args.root, args.name, "executions")),
      notices: new Set(),
      onNotice: args.onNotice,
    },
    implementations,
  };
}
