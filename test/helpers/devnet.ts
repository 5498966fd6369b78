import {
  createTestClient,
  createWalletClient,
  http,
  parseEther,
  publicActions,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { devAccounts } from "../../devnet/accounts";
import { startAnvil, type AnvilOptions, type RunningAnvil } from "../../src/chain/anvil";
import {
  deployDevnet,
  type ContractShape,
  type DevnetDeployment,
  type OpenZeppelinMajor,
  type Topology,
} from "../../devnet/deploy";
import { devnetStackConfig } from "../../devnet/stack-config";
import { chainDefinition, createChainClient } from "../../src/chain/client";
import type { StackConfigInput } from "../../src/config/schema";

export interface TestDevnet {
  anvil: RunningAnvil;
  deployment: DevnetDeployment;
  /** A read client on the devnet, as the engine makes them. */
  client: PublicClient;
  /** A fresh copy of the config that matches the chain exactly. */
  config(): StackConfigInput;
  wallet(privateKey: Hex): ReturnType<typeof createWalletClient>;
  /** Moves chain time forward and mines a block. */
  warp(seconds: bigint): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestDevnet(
  topology: Topology,
  options: { contracts?: ContractShape; openZeppelin?: OpenZeppelinMajor; anvil?: AnvilOptions } = {},
): Promise<TestDevnet> {
  const anvil = await startAnvil(options.anvil);
  try {
    const deployment = await deployDevnet(anvil.rpcUrl, topology, options);
    const chain = chainDefinition(anvil.chainId, [anvil.rpcUrl]);
    const testClient = createTestClient({ mode: "anvil", chain, transport: http(anvil.rpcUrl) });
    return {
      anvil,
      deployment,
      client: createChainClient({ chainId: anvil.chainId, rpcUrls: [anvil.rpcUrl] }),
      config: () => structuredClone(devnetStackConfig(deployment)),
      wallet: (privateKey) =>
        createWalletClient({ account: privateKeyToAccount(privateKey), chain, transport: http(anvil.rpcUrl) }),
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

/** Sends a call as `from` without its key (anvil impersonation): a change made behind the tool's back. */
export async function sendAsImpersonated(
  devnet: Pick<TestDevnet, "anvil">,
  from: Address,
  to: Address,
  data: Hex,
): Promise<Hex> {
  const testClient = createTestClient({
    mode: "anvil",
    transport: http(devnet.anvil.rpcUrl),
    pollingInterval: 50,
  }).extend(publicActions);
  await testClient.impersonateAccount({ address: from });
  await testClient.setBalance({ address: from, value: parseEther("1") });
  const hash = (await testClient.request({
    method: "eth_sendTransaction",
    params: [{ from, to, data }],
  } as never)) as Hex;
  await testClient.stopImpersonatingAccount({ address: from });
  const receipt = await testClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`impersonated call from ${from} to ${to} reverted`);
  return hash;
}
