import { readFileSync } from "node:fs";
import { join } from "node:path";
import Safe from "@safe-global/protocol-kit";
import {
  concatHex,
  getAddress,
  getContractAddress,
  zeroHash,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { canonicalSafeContracts, safeContractNetworks, SAFE_VERSION } from "../src/chain/safe-deployments";
import { repoRoot } from "../src/repo-root";

const SINGLETON_FACTORY = "0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7" as const;

const SAFE_ARTIFACTS = {
  safeSingleton: "Safe.sol/Safe.json",
  safeL2Singleton: "SafeL2.sol/SafeL2.json",
  proxyFactory: "proxies/SafeProxyFactory.sol/SafeProxyFactory.json",
  multiSend: "libraries/MultiSend.sol/MultiSend.json",
  multiSendCallOnly: "libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json",
  fallbackHandler: "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
  signMessageLib: "libraries/SignMessageLib.sol/SignMessageLib.json",
  createCall: "libraries/CreateCall.sol/CreateCall.json",
  simulateTxAccessor: "accessors/SimulateTxAccessor.sol/SimulateTxAccessor.json",
} as const satisfies Record<keyof typeof canonicalSafeContracts, string>;

function nodeModule(...parts: string[]): string {
  return join(repoRoot(), "node_modules", ...parts);
}

/** Replays the Safe singleton factory's presigned deployment transaction for this chain. */
async function deploySingletonFactory(publicClient: PublicClient, funder: WalletClient, chainId: number) {
  if (await publicClient.getCode({ address: SINGLETON_FACTORY })) return;
  const file = nodeModule("@safe-global", "safe-singleton-factory", "artifacts", String(chainId), "deployment.json");
  const presigned = JSON.parse(readFileSync(file, "utf8")) as { gasPrice: number; gasLimit: number; signerAddress: Address; transaction: Hex };
  const hash = await funder.sendTransaction({
    account: funder.account!,
    chain: funder.chain,
    to: presigned.signerAddress,
    value: BigInt(presigned.gasPrice) * BigInt(presigned.gasLimit),
  });
  await publicClient.waitForTransactionReceipt({ hash });
  const deployHash = await publicClient.sendRawTransaction({ serializedTransaction: presigned.transaction });
  await publicClient.waitForTransactionReceipt({ hash: deployHash });
  if (!(await publicClient.getCode({ address: SINGLETON_FACTORY }))) throw new Error("Safe singleton factory did not deploy");
}

/** Deploys the Safe v1.4.1 contracts through the singleton factory; they land at the canonical addresses. */
export async function deploySafeContracts(publicClient: PublicClient, deployer: WalletClient, chainId: number) {
  await deploySingletonFactory(publicClient, deployer, chainId);
  for (const [name, path] of Object.entries(SAFE_ARTIFACTS) as [keyof typeof SAFE_ARTIFACTS, string][]) {
    const expected = canonicalSafeContracts[name];
    if (await publicClient.getCode({ address: expected })) continue;
    const artifact = JSON.parse(readFileSync(nodeModule("@safe-global", "safe-contracts", "build", "artifacts", "contracts", path), "utf8"));
    const initCode = artifact.bytecode as Hex;
    const predicted = getContractAddress({ opcode: "CREATE2", from: SINGLETON_FACTORY, salt: zeroHash, bytecode: initCode });
    if (predicted !== expected) throw new Error(`${name} would deploy at ${predicted}, not the canonical ${expected}`);
    const hash = await deployer.sendTransaction({
      account: deployer.account!,
      chain: deployer.chain,
      to: SINGLETON_FACTORY,
      data: concatHex([zeroHash, initCode]),
    });
    await publicClient.waitForTransactionReceipt({ hash });
    if (!(await publicClient.getCode({ address: expected }))) throw new Error(`${name} not deployed at ${expected}`);
  }
}

/** Creates a Safe with protocol-kit (SafeL2 singleton, canonical fallback handler) at a predictable address. */
export async function createSafe(args: {
  rpcUrl: string;
  chainId: number;
  deployerKey: Hex;
  publicClient: PublicClient;
  deployer: WalletClient;
  owners: Address[];
  threshold: number;
  saltNonce: string;
}): Promise<Address> {
  const protocolKit = await Safe.init({
    provider: args.rpcUrl,
    signer: args.deployerKey,
    predictedSafe: {
      safeAccountConfig: { owners: args.owners, threshold: args.threshold },
      safeDeploymentConfig: { saltNonce: args.saltNonce, safeVersion: SAFE_VERSION },
    },
    contractNetworks: safeContractNetworks(args.chainId),
  });
  const address = getAddress(await protocolKit.getAddress());
  if (await args.publicClient.getCode({ address })) return address;
  const tx = await protocolKit.createSafeDeploymentTransaction();
  const hash = await args.deployer.sendTransaction({
    account: args.deployer.account!,
    chain: args.deployer.chain,
    to: tx.to as Address,
    data: tx.data as Hex,
    value: BigInt(tx.value),
  });
  await args.publicClient.waitForTransactionReceipt({ hash });
  return address;
}

