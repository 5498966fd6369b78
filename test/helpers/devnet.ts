import { createTestClient, createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { devAccounts } from "../../devnet/accounts";
import { startAnvil, type RunningAnvil } from "../../src/chain/anvil";
import { deployDevnet, type DevnetDeployment, type Topology } from "../../devnet/deploy";
import { devnetStackConfig } from "../../devnet/stack-config";
import { chainDefinition } from "../../src/chain/client";
import type { StackConfigInput } from "../../src/config/schema";

export interface TestDevnet {
  anvil: RunningAnvil;
  deployment: DevnetDeployment;
  /** A fresh copy of the config that matches the chain exactly. */
  config(): StackConfigInput;
  wallet(privateKey: Hex): ReturnType<typeof createWalletClient>;
  /** Moves chain time forward and mines a block. */
  warp(seconds: bigint): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestDevnet(topology: Topology): Promise<TestDevnet> {
  const anvil = await startAnvil();
  try {
    const deployment = await deployDevnet(anvil.rpcUrl, topology);
    const chain = chainDefinition(anvil.chainId, [anvil.rpcUrl]);
    const testClient = createTestClient({ mode: "anvil", chain, transport: http(anvil.rpcUrl) });
    return {
      anvil,
      deployment,
      config: () => structuredClone(devnetStackConfig(deployment)),
      wallet: (privateKey) => createWalletClient({ account: privateKeyToAccount(privateKey), chain, transport: http(anvil.rpcUrl) }),
      warp: async (seconds) => {
        await testClient.increaseTime({ seconds: Number(seconds) });
        await testClient.mine({ blocks: 1 });
      },
      stop: () => anvil.stop(),
    };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

export const owners = devAccounts.safeOwners;
export const executorKey = devAccounts.executor.privateKey;
