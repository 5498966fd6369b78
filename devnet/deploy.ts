import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeEventLog,
  encodeFunctionData,
  getAddress,
  http,
  sha256,
  stringToHex,
  zeroAddress,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../src/repo-root";
import { loadArtifact, type ArtifactName } from "../contracts/artifacts";
import { chainDefinition, MULTICALL3_ADDRESS } from "../src/chain/client";
import { devAccounts } from "./accounts";
import { createSafe, deploySafeContracts } from "./safe-infra";

/**
 * "documented" is the setup Phala's deployment guide describes: a Safe 1.3.0 (L2) and a stock
 * OpenZeppelin 5 (or, with `openZeppelin: 4`, 4.x) TimelockController whose only proposer,
 * canceller and executor is the Safe.
 */
export type Topology = "direct" | "safe" | "safe+timelock" | "documented";
export const TOPOLOGIES: readonly Topology[] = ["safe+timelock", "safe", "direct", "documented"];

/** Governance mode of a topology: "documented" is a Safe + timelock too. */
export function topologyMode(topology: Topology): "direct" | "safe" | "safe+timelock" {
  return topology === "documented" ? "safe+timelock" : topology;
}

/**
 * Which upstream contract shape the devnet runs: `released` (v0.5.10/v0.5.11, single-step owner)
 * or `two-step` (dstack main: pendingOwner/acceptOwnership, PolicyChanged). With `two-step` the
 * deployer's hand-over stays pending: the governance owner accepts through the tool's first proposal.
 */
export type ContractShape = "released" | "two-step";

const SHAPE_ARTIFACTS = {
  released: { kms: "DstackKms", app: "DstackApp", kmsV2: "DstackKmsV2", appV2: "DstackAppV2" },
  "two-step": {
    kms: "DstackKmsTwoStep",
    app: "DstackAppTwoStep",
    kmsV2: "DstackKmsTwoStepV2",
    appV2: "DstackAppTwoStepV2",
  },
} as const satisfies Record<ContractShape, Record<string, ArtifactName>>;

/** Devnet governance parameters: the seed's non-production recommendation (2-of-3, 1 h, 3 d). */
export const DEVNET_TIMELOCK_DELAY = 3600n;
export const DEVNET_TIMELOCK_EXPIRATION = 3n * 86400n;
export const DEVNET_SAFE_THRESHOLD = 2;

/** A measurement as dstack computes them (sha256), of a readable label so tests can name them. */
export function devMeasurement(label: string): Hex {
  return sha256(stringToHex(label));
}

export interface DevnetApp {
  name: string;
  proxy: Address;
  composeHashes: Hex[];
  devices: Hex[];
  allowAnyDevice: boolean;
  requireTcbUpToDate: boolean;
}

export interface DevnetDeployment {
  rpcUrl: string;
  chainId: number;
  topology: Topology;
  contracts: ContractShape;
  deployBlock: bigint;
  /** Who owns the dstack contracts: the timelock, the Safe or the admin EOA. */
  governanceOwner: Address;
  safe?: Address;
  timelock?: Address;
  kms: {
    proxy: Address;
    implementation: Address;
    osImages: Hex[];
    aggregatedMrs: Hex[];
    devices: Hex[];
    gatewayAppId: string;
    appImplementation: Address;
  };
  apps: DevnetApp[];
  /** Upgrade targets with code, for upgrade scenarios. */
  kmsV2Implementation: Address;
  appV2Implementation: Address;
}

interface Deployer {
  publicClient: PublicClient;
  wallet: WalletClient;
}

/** The stock TimelockController majors the devnet can deploy: 5.x, and 4.x (still behind many deployments). */
export type OpenZeppelinMajor = 4 | 5;
const OPENZEPPELIN_PACKAGES: Record<OpenZeppelinMajor, string> = { 5: "contracts", 4: "contracts-v4" };

/** OpenZeppelin's own compiled TimelockController (the npm package's build artifact, unmodified). */
export function stockTimelockController(major: OpenZeppelinMajor = 5): { abi: Abi; bytecode: Hex } {
  const file = join(
    repoRoot(),
    "node_modules",
    "@openzeppelin",
    OPENZEPPELIN_PACKAGES[major],
    "build",
    "contracts",
    "TimelockController.json",
  );
  const artifact = JSON.parse(readFileSync(file, "utf8")) as { abi: Abi; bytecode: Hex };
  return { abi: artifact.abi, bytecode: artifact.bytecode };
}

async function deployContract(d: Deployer, name: ArtifactName, args: readonly unknown[] = []): Promise<Address> {
  const artifact = loadArtifact(name);
  const hash = await d.wallet.deployContract({
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    args,
    account: d.wallet.account!,
    chain: d.wallet.chain,
  });
  const receipt = await d.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deploying ${name} failed`);
  return getAddress(receipt.contractAddress);
}

async function send(d: Deployer, to: Address, abi: Abi, functionName: string, args: readonly unknown[]) {
  const hash = await d.wallet.sendTransaction({
    account: d.wallet.account!,
    chain: d.wallet.chain,
    to,
    data: encodeFunctionData({ abi, functionName, args }),
  });
  const receipt = await d.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} on ${to} reverted`);
  return receipt;
}

async function deployProxy(
  d: Deployer,
  implementation: Address,
  abi: Abi,
  initializer: string,
  args: readonly unknown[],
) {
  return deployContract(d, "ERC1967Proxy", [
    implementation,
    encodeFunctionData({ abi, functionName: initializer, args }),
  ]);
}

/**
 * Deploys one governance topology on a fresh anvil chain, deterministically: the same calls from
 * the same accounts in the same order, so addresses and measurements never change between runs.
 */
export async function deployDevnet(
  rpcUrl: string,
  topology: Topology,
  options: { contracts?: ContractShape; openZeppelin?: OpenZeppelinMajor } = {},
): Promise<DevnetDeployment> {
  const contracts = options.contracts ?? "released";
  const artifacts = SHAPE_ARTIFACTS[contracts];
  const publicClient = createPublicClient({ transport: http(rpcUrl), pollingInterval: 50, cacheTime: 0 });
  const chainId = await publicClient.getChainId();
  const chain = chainDefinition(chainId, [rpcUrl]);
  const wallet = createWalletClient({
    account: privateKeyToAccount(devAccounts.deployer.privateKey),
    chain,
    transport: http(rpcUrl),
  });
  const d: Deployer = { publicClient, wallet };
  const deployBlock = await publicClient.getBlockNumber();

  await createTestClient({ mode: "anvil", transport: http(rpcUrl) }).setCode({
    address: MULTICALL3_ADDRESS,
    bytecode: loadArtifact("Multicall3").deployedBytecode,
  });

  let safe: Address | undefined;
  let timelock: Address | undefined;
  if (topology !== "direct") {
    const version = topology === "documented" ? "1.3.0" : "1.4.1";
    await deploySafeContracts(publicClient, wallet, chainId, version);
    safe = await createSafe({
      publicClient,
      deployer: wallet,
      owners: devAccounts.safeOwners.map((o) => o.address),
      threshold: DEVNET_SAFE_THRESHOLD,
      saltNonce: 0n,
      version,
    });
  }
  if (topology === "safe+timelock") {
    timelock = await deployContract(d, "ExpiringTimelock", [
      DEVNET_TIMELOCK_DELAY,
      [safe],
      [zeroAddress],
      zeroAddress,
      DEVNET_TIMELOCK_EXPIRATION,
    ]);
  }
  if (topology === "documented") {
    // The stock contract as @openzeppelin/contracts ships it compiled: proposer and executor = the Safe, no outside admin.
    const stock = stockTimelockController(options.openZeppelin);
    const hash = await wallet.deployContract({
      abi: stock.abi,
      bytecode: stock.bytecode,
      args: [DEVNET_TIMELOCK_DELAY, [safe!], [safe!], zeroAddress],
      account: wallet.account,
      chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress)
      throw new Error("deploying the stock TimelockController failed");
    timelock = getAddress(receipt.contractAddress);
  }
  const governanceOwner = timelock ?? safe ?? devAccounts.admin.address;

  const kmsAbi = loadArtifact(artifacts.kms).abi;
  const appAbi = loadArtifact(artifacts.app).abi;
  const kmsImplementation = await deployContract(d, artifacts.kms);
  const appImplementation = await deployContract(d, artifacts.app);
  const kmsProxy = await deployProxy(d, kmsImplementation, kmsAbi, "initialize", [
    wallet.account.address,
    appImplementation,
  ]);

  const kms = {
    proxy: kmsProxy,
    implementation: kmsImplementation,
    osImages: [devMeasurement("dstack-os-0.5.3"), devMeasurement("dstack-os-0.5.4")],
    aggregatedMrs: [devMeasurement("kms-mr-1")],
    devices: [devMeasurement("kms-device-1")],
    gatewayAppId: "gateway-devnet",
    appImplementation,
  };
  for (const hash of kms.osImages) await send(d, kmsProxy, kmsAbi, "addOsImageHash", [hash]);
  for (const mr of kms.aggregatedMrs) await send(d, kmsProxy, kmsAbi, "addKmsAggregatedMr", [mr]);
  for (const device of kms.devices) await send(d, kmsProxy, kmsAbi, "addKmsDevice", [device]);
  await send(d, kmsProxy, kmsAbi, "setGatewayAppId", [kms.gatewayAppId]);

  const apps: DevnetApp[] = [];
  for (const name of ["app-one", "app-two"]) {
    const composeHashes = [devMeasurement(`${name}-compose-v1`), devMeasurement(`${name}-compose-v2`)];
    const devices = [devMeasurement(`${name}-device-1`)];
    const receipt = await send(d, kmsProxy, kmsAbi, "deployAndRegisterApp", [
      wallet.account.address,
      false,
      true,
      false,
      devices[0],
      composeHashes[0],
    ]);
    const proxy = appProxyFromReceipt(receipt.logs, kmsAbi);
    await send(d, proxy, appAbi, "addComposeHash", [composeHashes[1]]);
    await send(d, proxy, appAbi, "transferOwnership", [governanceOwner]);
    apps.push({ name, proxy, composeHashes, devices, allowAnyDevice: false, requireTcbUpToDate: true });
  }
  await send(d, kmsProxy, kmsAbi, "transferOwnership", [governanceOwner]);

  const kmsV2Implementation = await deployContract(d, artifacts.kmsV2);
  const appV2Implementation = await deployContract(d, artifacts.appV2);
  return {
    rpcUrl,
    chainId,
    topology,
    contracts,
    deployBlock,
    governanceOwner,
    safe,
    timelock,
    kms,
    apps,
    kmsV2Implementation,
    appV2Implementation,
  };
}

function appProxyFromReceipt(logs: readonly { data: Hex; topics: readonly Hex[] }[], kmsAbi: Abi): Address {
  for (const log of logs) {
    try {
      const event = decodeEventLog({ abi: kmsAbi, data: log.data, topics: log.topics as [Hex, ...Hex[]] });
      if (event.eventName === "AppDeployedViaFactory") return (event.args as unknown as { appId: Address }).appId;
    } catch {
      // logs of the app proxy itself (Initialized, ComposeHashAdded, ...) are not KMS events
    }
  }
  throw new Error("deployAndRegisterApp emitted no AppDeployedViaFactory");
}
