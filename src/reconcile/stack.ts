import { createWalletClient, http, type Hex, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { assertChainId, createChainClient } from "../chain/client";
import { readLiveState, type LiveState } from "../chain/read-state";
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
      notices: new Set(),
      onNotice: args.onNotice,
    },
    implementations,
  };
}

/** The stack's live state at the head (or at `pinnedBlock`), scanning events from its checkpoint. */
export function readStackState(stack: Stack, pinnedBlock?: bigint): Promise<LiveState> {
  const { checkpoints, notices, onNotice } = stack.scans;
  const notice = (message: string) => {
    if (notices.has(message)) return;
    notices.add(message);
    onNotice?.(message);
  };
  return readLiveState(stack.client, stack.config, { pinnedBlock, checkpoints, onNotice: notice });
}

/** A wallet on the stack's chain and first RPC URL, signing locally with the key (never sent anywhere). */
export function stackWallet(stack: Stack, privateKey: Hex): WalletClient {
  return createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain: stack.client.chain,
    transport: http(stack.config.network.rpcUrls[0]),
  });
}
