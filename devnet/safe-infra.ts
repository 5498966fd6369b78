import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  concatHex,
  encodeFunctionData,
  parseAbi,
  parseEventLogs,
  zeroAddress,
  getAddress,
  getContractAddress,
  zeroHash,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { canonicalSafeContracts } from "../src/chain/safe-deployments";
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
  const presigned = JSON.parse(readFileSync(file, "utf8")) as {
    gasPrice: number;
    gasLimit: number;
    signerAddress: Address;
    transaction: Hex;
  };
  const hash = await funder.sendTransaction({
    account: funder.account!,
    chain: funder.chain,
    to: presigned.signerAddress,
    value: BigInt(presigned.gasPrice) * BigInt(presigned.gasLimit),
  });
  await publicClient.waitForTransactionReceipt({ hash });
  const deployHash = await publicClient.sendRawTransaction({ serializedTransaction: presigned.transaction });
  await publicClient.waitForTransactionReceipt({ hash: deployHash });
  if (!(await publicClient.getCode({ address: SINGLETON_FACTORY })))
    throw new Error("Safe singleton factory did not deploy");
}

/** Deploys the Safe v1.4.1 contracts through the singleton factory; they land at the canonical addresses. */
export async function deploySafeContracts(publicClient: PublicClient, deployer: WalletClient, chainId: number) {
  await deploySingletonFactory(publicClient, deployer, chainId);
  for (const [name, path] of Object.entries(SAFE_ARTIFACTS) as [keyof typeof SAFE_ARTIFACTS, string][]) {
    const expected = canonicalSafeContracts[name];
    if (await publicClient.getCode({ address: expected })) continue;
    const artifact = JSON.parse(
      readFileSync(nodeModule("@safe-global", "safe-contracts", "build", "artifacts", "contracts", path), "utf8"),
    );
    const initCode = artifact.bytecode as Hex;
    const predicted = getContractAddress({
      opcode: "CREATE2",
      from: SINGLETON_FACTORY,
      salt: zeroHash,
      bytecode: initCode,
    });
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

const safeSetupAbi = parseAbi([
  "function setup(address[] owners, uint256 threshold, address to, bytes data, address fallbackHandler, address paymentToken, uint256 payment, address paymentReceiver)",
]);
const proxyFactoryAbi = parseAbi([
  "function createProxyWithNonce(address singleton, bytes initializer, uint256 saltNonce) returns (address proxy)",
  "event ProxyCreation(address indexed proxy, address singleton)",
]);

/**
 * Creates a Safe (SafeL2 singleton, canonical fallback handler) through the canonical proxy
 * factory, exactly as Safe{Wallet} does. Plain viem: protocol-kit memoizes its address prediction
 * per chain id, which breaks when several local chains share 31337 in one process.
 */
export async function createSafe(args: {
  publicClient: PublicClient;
  deployer: WalletClient;
  owners: Address[];
  threshold: number;
  saltNonce: bigint;
}): Promise<Address> {
  const c = canonicalSafeContracts;
  const initializer = encodeFunctionData({
    abi: safeSetupAbi,
    functionName: "setup",
    args: [args.owners, BigInt(args.threshold), zeroAddress, "0x", c.fallbackHandler, zeroAddress, 0n, zeroAddress],
  });
  const hash = await args.deployer.writeContract({
    address: c.proxyFactory,
    abi: proxyFactoryAbi,
    functionName: "createProxyWithNonce",
    args: [c.safeL2Singleton, initializer, args.saltNonce],
    account: args.deployer.account!,
    chain: args.deployer.chain,
  });
  const receipt = await args.publicClient.waitForTransactionReceipt({ hash });
  const [created] = parseEventLogs({ abi: proxyFactoryAbi, eventName: "ProxyCreation", logs: receipt.logs });
  if (!created) throw new Error("SafeProxyFactory emitted no ProxyCreation");
  return getAddress(created.args.proxy);
}
