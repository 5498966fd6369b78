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
import { canonicalSafeContractsByVersion, type SafeContracts, type SafeVersion } from "../src/chain/safe-deployments";
import { repoRoot } from "../src/repo-root";

const SINGLETON_FACTORY = "0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7" as const;
/** The deterministic deployment proxy anvil predeploys; Safe 1.3.0's canonical addresses come from it. */
const DETERMINISTIC_DEPLOYMENT_PROXY = "0x4e59b44847b379578588920ca78fbf26c0b4956c" as const;

const SAFE_141_ARTIFACTS = {
  safeSingleton: "Safe.sol/Safe.json",
  safeL2Singleton: "SafeL2.sol/SafeL2.json",
  proxyFactory: "proxies/SafeProxyFactory.sol/SafeProxyFactory.json",
  multiSend: "libraries/MultiSend.sol/MultiSend.json",
  multiSendCallOnly: "libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json",
  fallbackHandler: "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
  signMessageLib: "libraries/SignMessageLib.sol/SignMessageLib.json",
  createCall: "libraries/CreateCall.sol/CreateCall.json",
  simulateTxAccessor: "accessors/SimulateTxAccessor.sol/SimulateTxAccessor.json",
} as const satisfies Record<keyof SafeContracts, string>;

const SAFE_130_ARTIFACTS = {
  safeSingleton: "GnosisSafe.sol/GnosisSafe.json",
  safeL2Singleton: "GnosisSafeL2.sol/GnosisSafeL2.json",
  proxyFactory: "proxies/GnosisSafeProxyFactory.sol/GnosisSafeProxyFactory.json",
  multiSend: "libraries/MultiSend.sol/MultiSend.json",
  multiSendCallOnly: "libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json",
  fallbackHandler: "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json",
  // The npm build of 1.3.0's SignMessageLib differs from the canonical deployment's bytecode (its
  // CREATE2 address is 0xEb4b…1D06, not 0xA653…A3a2); message signing is never used here, so it is left out.
  signMessageLib: null,
  createCall: "libraries/CreateCall.sol/CreateCall.json",
  simulateTxAccessor: "accessors/SimulateTxAccessor.sol/SimulateTxAccessor.json",
} as const satisfies Record<keyof SafeContracts, string | null>;

/** Where each version's bytecode comes from (npm artifacts) and which CREATE2 factory puts it at the canonical address. */
const SAFE_SOURCES = {
  "1.4.1": { artifacts: SAFE_141_ARTIFACTS, dir: ["@safe-global", "safe-contracts"], factory: SINGLETON_FACTORY },
  "1.3.0": {
    artifacts: SAFE_130_ARTIFACTS,
    dir: ["@gnosis.pm", "safe-contracts"],
    factory: DETERMINISTIC_DEPLOYMENT_PROXY,
  },
} as const;

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

/**
 * Deploys a Safe version's contracts at their canonical addresses: 1.4.1 through the Safe singleton
 * factory, 1.3.0 through the deterministic deployment proxy (anvil has it), both with salt 0.
 */
export async function deploySafeContracts(
  publicClient: PublicClient,
  deployer: WalletClient,
  chainId: number,
  version: SafeVersion = "1.4.1",
) {
  const source = SAFE_SOURCES[version];
  if (version === "1.4.1") await deploySingletonFactory(publicClient, deployer, chainId);
  else if (!(await publicClient.getCode({ address: DETERMINISTIC_DEPLOYMENT_PROXY })))
    throw new Error(
      `no deterministic deployment proxy at ${DETERMINISTIC_DEPLOYMENT_PROXY}: Safe ${version} cannot land at its canonical addresses`,
    );
  for (const [name, path] of Object.entries(source.artifacts) as [keyof SafeContracts, string | null][]) {
    if (path === null) continue;
    const expected = canonicalSafeContractsByVersion[version][name];
    if (await publicClient.getCode({ address: expected })) continue;
    const artifact = JSON.parse(
      readFileSync(nodeModule(...source.dir, "build", "artifacts", "contracts", path), "utf8"),
    );
    const initCode = artifact.bytecode as Hex;
    const predicted = getContractAddress({
      opcode: "CREATE2",
      from: source.factory,
      salt: zeroHash,
      bytecode: initCode,
    });
    if (predicted !== expected)
      throw new Error(`Safe ${version} ${name} would deploy at ${predicted}, not the canonical ${expected}`);
    const hash = await deployer.sendTransaction({
      account: deployer.account!,
      chain: deployer.chain,
      to: source.factory,
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
/** 1.3.0's factory emits the same event with the proxy not indexed. */
const proxyFactory130Abi = parseAbi([
  "function createProxyWithNonce(address singleton, bytes initializer, uint256 saltNonce) returns (address proxy)",
  "event ProxyCreation(address proxy, address singleton)",
]);

/**
 * Creates a Safe of the given version (SafeL2 singleton unless l2 is false, canonical fallback handler) through the canonical proxy
 * factory, exactly as Safe{Wallet} does. Plain viem: protocol-kit memoizes its address prediction
 * per chain id, which breaks when several local chains share 31337 in one process.
 */
export async function createSafe(args: {
  publicClient: PublicClient;
  deployer: WalletClient;
  owners: Address[];
  threshold: number;
  saltNonce: bigint;
  version?: SafeVersion;
  l2?: boolean;
}): Promise<Address> {
  const version = args.version ?? "1.4.1";
  const c = canonicalSafeContractsByVersion[version];
  const initializer = encodeFunctionData({
    abi: safeSetupAbi,
    functionName: "setup",
    args: [args.owners, BigInt(args.threshold), zeroAddress, "0x", c.fallbackHandler, zeroAddress, 0n, zeroAddress],
  });
  const hash = await args.deployer.writeContract({
    address: c.proxyFactory,
    abi: proxyFactoryAbi,
    functionName: "createProxyWithNonce",
    args: [args.l2 === false ? c.safeSingleton : c.safeL2Singleton, initializer, args.saltNonce],
    account: args.deployer.account!,
    chain: args.deployer.chain,
  });
  const receipt = await args.publicClient.waitForTransactionReceipt({ hash });
  const [created] = parseEventLogs({
    abi: version === "1.3.0" ? proxyFactory130Abi : proxyFactoryAbi,
    eventName: "ProxyCreation",
    logs: receipt.logs,
  });
  if (!created) throw new Error("SafeProxyFactory emitted no ProxyCreation");
  return getAddress(created.args.proxy);
}
