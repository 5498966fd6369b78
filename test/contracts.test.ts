/**
 * Tests for the Solidity fixtures in contracts/ (our own DstackKms/DstackApp written to the public
 * dstack interface, ExpiringTimelock, Multicall3), against a throwaway anvil.
 *
 * Self-contained on purpose: the anvil helper lives in this file.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  encodeFunctionData,
  getAddress,
  http,
  keccak256,
  parseEventLogs,
  toHex,
  zeroAddress,
  zeroHash,
  toEventSignature,
  toFunctionSignature,
  type Abi,
  type AbiEvent,
  type AbiFunction,
  type Address,
  type Hex,
  type PublicClient,
  type TestClient,
  type WalletClient,
  type Account,
  type Chain,
  type Transport,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { buildContracts, findRepoRoot } from "../contracts/build";
import { loadArtifact, type ArtifactName } from "../contracts/artifacts";

// ---------------------------------------------------------------------------------------------
// anvil helper (local to this file)
// ---------------------------------------------------------------------------------------------

interface Anvil {
  url: string;
  stop(): Promise<void>;
}

/**
 * The platform binary shipped by @foundry-rs/anvil, else the npm wrapper in node_modules/.bin.
 * The binary is preferred: the wrapper (bin.mjs) re-spawns it and exits on SIGTERM before its
 * child, which leaves an orphan that a container init may never reap.
 */
function anvilBinary(): string {
  const root = findRepoRoot();
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const native = path.join(root, "node_modules", "@foundry-rs", `anvil-${process.platform}-${arch}`, "bin", "anvil");
  return fs.existsSync(native) ? native : path.join(root, "node_modules", ".bin", "anvil");
}

function startAnvil(timeoutMs = 30_000): Promise<Anvil> {
  const bin = anvilBinary();
  // Own process group, so a wrapper and its child are stopped together.
  const proc: ChildProcess = spawn(bin, ["--host", "127.0.0.1", "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (proc.pid !== undefined) process.kill(-proc.pid, signal);
    } catch {
      /* already gone */
    }
  };
  const onExit = () => killGroup("SIGKILL");
  process.once("exit", onExit);

  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      killGroup("SIGKILL");
      reject(new Error(`anvil did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (!m) return;
      clearTimeout(timer);
      proc.stdout?.off("data", onData);
      proc.stdout?.resume(); // keep draining so anvil never blocks on a full pipe
      resolve({
        url: `http://127.0.0.1:${m[1]}`,
        stop: () =>
          new Promise<void>((done) => {
            process.off("exit", onExit);
            if (proc.exitCode !== null || proc.signalCode !== null) return done();
            const hard = setTimeout(() => killGroup("SIGKILL"), 5_000);
            proc.once("exit", () => {
              clearTimeout(hard);
              done();
            });
            killGroup("SIGTERM");
          }),
      });
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    proc.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`anvil exited early (code ${code}, signal ${signal}):\n${output}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// fixtures
// ---------------------------------------------------------------------------------------------

// anvil's default dev accounts (well-known test keys)
const owner = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const alice = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const mallory = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");

const MULTICALL3: Address = "0xcA11bde05977b3631167028862bE2a173976CA11";

const h = (s: string): Hex => keccak256(toHex(s));

type Wallet = WalletClient<Transport, Chain, Account>;

let anvil: Anvil;
let pub: PublicClient;
let test: TestClient;
let wallets: Map<Address, Wallet>;

function wallet(account: Account): Wallet {
  let w = wallets.get(account.address);
  if (!w) {
    w = createWalletClient({ account, chain: foundry, transport: http(anvil.url), pollingInterval: 50, cacheTime: 0 });
    wallets.set(account.address, w);
  }
  return w;
}

const abi = (name: ArtifactName): Abi => loadArtifact(name).abi;

async function deploy(name: ArtifactName, args: readonly unknown[] = [], from: Account = owner): Promise<Address> {
  const a = loadArtifact(name);
  const hash = await wallet(from).deployContract({ abi: a.abi, bytecode: a.bytecode, args });
  const receipt = await pub.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success", `deploy ${name}`);
  assert.ok(receipt.contractAddress);
  return getAddress(receipt.contractAddress);
}

async function send(
  name: ArtifactName,
  address: Address,
  functionName: string,
  args: readonly unknown[] = [],
  from: Account = owner,
) {
  const { request } = await pub.simulateContract({ account: from, address, abi: abi(name), functionName, args });
  const hash = await wallet(from).writeContract(request);
  const receipt = await pub.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success", `${functionName} succeeded`);
  return receipt;
}

async function read<T = unknown>(
  name: ArtifactName,
  address: Address,
  functionName: string,
  args: readonly unknown[] = [],
) {
  return (await pub.readContract({ address, abi: abi(name), functionName, args })) as T;
}

/** Simulates the call and asserts it reverts with the given custom error or reason string. */
async function expectRevert(
  name: ArtifactName,
  address: Address,
  functionName: string,
  args: readonly unknown[],
  from: Account,
  expected: { errorName?: string; reason?: string; args?: readonly unknown[] },
) {
  try {
    await pub.simulateContract({ account: from, address, abi: abi(name), functionName, args });
  } catch (e) {
    assert.ok(e instanceof BaseError, `unexpected error ${String(e)}`);
    const revert = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    assert.ok(revert, `no revert in: ${e.message}`);
    if (expected.reason !== undefined) assert.equal(revert.reason, expected.reason);
    if (expected.errorName !== undefined) assert.equal(revert.data?.errorName, expected.errorName);
    if (expected.args !== undefined) assert.deepEqual(revert.data?.args, expected.args);
    return;
  }
  assert.fail(`${functionName} did not revert`);
}

async function warp(seconds: number | bigint) {
  await test.increaseTime({ seconds: Number(seconds) });
  await test.mine({ blocks: 1 });
}

function events(name: ArtifactName, receipt: { logs: readonly unknown[] }, eventName: string, address?: Address) {
  return parseEventLogs({ abi: abi(name), logs: receipt.logs as never, eventName }).filter(
    (l) => address === undefined || l.address.toLowerCase() === address.toLowerCase(),
  ) as unknown as { address: Address; eventName: string; args: Record<string, unknown> | readonly unknown[] }[];
}

/** Deploy DstackKms implementation + ERC1967Proxy, initialised for `kmsOwner`. */
async function deployKms(kmsOwner: Address = owner.address) {
  const kmsImpl = await deploy("DstackKms");
  const appImpl = await deploy("DstackApp");
  const init = encodeFunctionData({ abi: abi("DstackKms"), functionName: "initialize", args: [kmsOwner, appImpl] });
  const kms = await deploy("ERC1967Proxy", [kmsImpl, init]);
  return { kms, kmsImpl, appImpl };
}

/** Upstream keeps the upgrades-disabled flag private: slot 1, lowest byte (allowAnyDevice is the next byte). */
async function upgradesDisabledSlot(app: Address): Promise<boolean> {
  const word = BigInt((await pub.getStorageAt({ address: app, slot: toHex(1, { size: 32 }) })) ?? "0x0");
  return (word & 0xffn) === 1n;
}

function bootInfo(over: Partial<Record<string, unknown>> = {}) {
  return {
    appId: zeroAddress,
    composeHash: zeroHash,
    instanceId: zeroAddress,
    deviceId: zeroHash,
    mrAggregated: zeroHash,
    mrSystem: zeroHash,
    osImageHash: zeroHash,
    tcbStatus: "UpToDate",
    advisoryIds: [] as string[],
    ...over,
  };
}

// ---------------------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------------------

before(async () => {
  await buildContracts({ quiet: true });
  anvil = await startAnvil();
  pub = createPublicClient({ chain: foundry, transport: http(anvil.url), pollingInterval: 50, cacheTime: 0 });
  test = createTestClient({
    mode: "anvil",
    chain: foundry,
    transport: http(anvil.url),
    pollingInterval: 50,
    cacheTime: 0,
  });
  wallets = new Map();
});

after(async () => {
  await anvil?.stop();
});

describe("DstackKms", () => {
  it("initialises behind an ERC1967Proxy and advertises IAppAuth", async () => {
    const { kms, kmsImpl, appImpl } = await deployKms();
    assert.equal(await read("DstackKms", kms, "owner"), owner.address);
    assert.equal(await read("DstackKms", kms, "appImplementation"), appImpl);
    assert.equal(await read("DstackKms", kms, "supportsInterface", ["0x1e079198"]), true);
    assert.equal(await read("DstackKms", kms, "supportsInterface", ["0x01ffc9a7"]), true);
    assert.equal(await read("DstackKms", kms, "supportsInterface", ["0xffffffff"]), false);
    assert.equal(await read("DstackKms", kms, "UPGRADE_INTERFACE_VERSION"), "5.0.0");
    // implementation slot holds the implementation
    const slot = await pub.getStorageAt({
      address: kms,
      slot: "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc",
    });
    assert.equal(`0x${slot!.slice(-40)}`.toLowerCase(), kmsImpl.toLowerCase());
    // the implementation itself cannot be initialised
    await expectRevert("DstackKms", kmsImpl, "initialize", [owner.address, appImpl], owner, {
      errorName: "InvalidInitialization",
    });
    await expectRevert("DstackKms", kms, "initialize", [owner.address, appImpl], owner, {
      errorName: "InvalidInitialization",
    });
  });

  it("adds and removes an OS image hash with events, idempotently, owner only", async () => {
    const { kms } = await deployKms();
    const img = h("os-image-0.5.8");
    assert.equal(await read("DstackKms", kms, "allowedOsImages", [img]), false);

    const r1 = await send("DstackKms", kms, "addOsImageHash", [img]);
    const added = events("DstackKms", r1, "OsImageHashAdded", kms);
    assert.equal(added.length, 1);
    assert.deepEqual(Object.values(added[0].args), [img]);
    assert.equal(await read("DstackKms", kms, "allowedOsImages", [img]), true);

    // idempotent add still emits
    const r2 = await send("DstackKms", kms, "addOsImageHash", [img]);
    assert.equal(events("DstackKms", r2, "OsImageHashAdded", kms).length, 1);

    const r3 = await send("DstackKms", kms, "removeOsImageHash", [img]);
    const removed = events("DstackKms", r3, "OsImageHashRemoved", kms);
    assert.equal(removed.length, 1);
    assert.deepEqual(Object.values(removed[0].args), [img]);
    assert.equal(await read("DstackKms", kms, "allowedOsImages", [img]), false);

    const r4 = await send("DstackKms", kms, "removeOsImageHash", [img]);
    assert.equal(events("DstackKms", r4, "OsImageHashRemoved", kms).length, 1);

    await expectRevert("DstackKms", kms, "addOsImageHash", [img], mallory, {
      errorName: "OwnableUnauthorizedAccount",
      args: [mallory.address],
    });
  });

  it("owner-only setters update getters and emit", async () => {
    const { kms } = await deployKms();
    const info = { k256Pubkey: "0x02aa", caPubkey: "0x03bb", quote: "0x0c", eventlog: "0x0d" } as const;
    const r = await send("DstackKms", kms, "setKmsInfo", [info]);
    assert.deepEqual(Object.values(events("DstackKms", r, "KmsInfoSet", kms)[0].args), ["0x02aa"]);
    await send("DstackKms", kms, "setKmsQuote", ["0x1234"]);
    await send("DstackKms", kms, "setKmsEventlog", ["0x5678"]);
    assert.deepEqual(await read("DstackKms", kms, "kmsInfo"), ["0x02aa", "0x03bb", "0x1234", "0x5678"]);

    const g = await send("DstackKms", kms, "setGatewayAppId", ["gw-app"]);
    assert.equal(events("DstackKms", g, "GatewayAppIdSet", kms).length, 1);
    assert.equal(await read("DstackKms", kms, "gatewayAppId"), "gw-app");

    await expectRevert("DstackKms", kms, "setAppImplementation", [zeroAddress], owner, {
      reason: "Invalid implementation address",
    });
    const newImpl = await deploy("DstackApp");
    const s = await send("DstackKms", kms, "setAppImplementation", [newImpl]);
    assert.equal(events("DstackKms", s, "AppImplementationSet", kms).length, 1);
    assert.equal(await read("DstackKms", kms, "appImplementation"), newImpl);

    for (const fn of ["addKmsAggregatedMr", "addKmsDevice", "removeKmsAggregatedMr", "removeKmsDevice"]) {
      await expectRevert("DstackKms", kms, fn, [h("x")], mallory, { errorName: "OwnableUnauthorizedAccount" });
    }
    await expectRevert("DstackKms", kms, "setGatewayAppId", ["x"], mallory, {
      errorName: "OwnableUnauthorizedAccount",
    });
  });

  it("isKmsAllowed requires UpToDate TCB, an allowed MR, OS image and device", async () => {
    const { kms } = await deployKms();
    const mr = h("kms-mr");
    const dev = h("kms-device");
    const img = h("kms-os");
    const info = bootInfo({ mrAggregated: mr, deviceId: dev, osImageHash: img });
    const check = () => read<[boolean, string]>("DstackKms", kms, "isKmsAllowed", [info]);

    assert.equal((await check())[0], false);
    const rMr = await send("DstackKms", kms, "addKmsAggregatedMr", [mr]);
    assert.deepEqual(Object.values(events("DstackKms", rMr, "KmsAggregatedMrAdded", kms)[0].args), [mr]);
    await send("DstackKms", kms, "addOsImageHash", [img]);
    assert.equal((await check())[0], false);
    const rDev = await send("DstackKms", kms, "addKmsDevice", [dev]);
    assert.deepEqual(Object.values(events("DstackKms", rDev, "KmsDeviceAdded", kms)[0].args), [dev]);
    assert.deepEqual(await check(), [true, ""]);

    const [okStale, whyStale] = await read<[boolean, string]>("DstackKms", kms, "isKmsAllowed", [
      { ...info, tcbStatus: "OutOfDate" },
    ]);
    assert.equal(okStale, false);
    assert.match(whyStale, /TCB/);

    const rm = await send("DstackKms", kms, "removeKmsAggregatedMr", [mr]);
    assert.equal(events("DstackKms", rm, "KmsAggregatedMrRemoved", kms).length, 1);
    assert.equal((await check())[0], false);
    await send("DstackKms", kms, "addKmsAggregatedMr", [mr]);
    const rd = await send("DstackKms", kms, "removeKmsDevice", [dev]);
    assert.equal(events("DstackKms", rd, "KmsDeviceRemoved", kms).length, 1);
    assert.equal((await check())[0], false);
  });

  it("deployAndRegisterApp deploys an initialised DstackApp proxy and isAppAllowed delegates to it", async () => {
    const { kms } = await deployKms();
    const img = h("os");
    const compose = h("app-compose.json v1");
    const device = h("ppid-1");
    await send("DstackKms", kms, "addOsImageHash", [img]);

    const r = await send(
      "DstackKms",
      kms,
      "deployAndRegisterApp",
      [alice.address, false, false, false, device, compose],
      mallory, // open to anyone
    );
    const deployed = events("DstackKms", r, "AppDeployedViaFactory", kms);
    assert.equal(deployed.length, 1);
    const { appId, deployer } = deployed[0].args as { appId: Address; deployer: Address };
    assert.equal(deployer, mallory.address);
    assert.equal(events("DstackKms", r, "AppRegistered", kms).length, 1);
    assert.deepEqual(Object.values(events("DstackApp", r, "ComposeHashAdded", appId)[0].args), [compose]);
    assert.deepEqual(Object.values(events("DstackApp", r, "DeviceAdded", appId)[0].args), [device]);

    assert.equal(await read("DstackKms", kms, "registeredApps", [appId]), true);
    assert.equal(await read("DstackApp", appId, "owner"), alice.address);
    assert.equal(await read("DstackApp", appId, "allowedComposeHashes", [compose]), true);
    assert.equal(await read("DstackApp", appId, "allowedDeviceIds", [device]), true);
    assert.equal(await read("DstackApp", appId, "allowAnyDevice"), false);
    assert.equal(await upgradesDisabledSlot(appId), false);
    assert.equal(await read("DstackApp", appId, "requireTcbUpToDate"), false);
    assert.equal(await read("DstackApp", appId, "supportsInterface", ["0x1e079198"]), true);

    const info = bootInfo({ appId, composeHash: compose, deviceId: device, osImageHash: img });
    const allowed = (i: object) => read<[boolean, string]>("DstackKms", kms, "isAppAllowed", [i]);
    assert.deepEqual(await allowed(info), [true, ""]);
    assert.equal((await allowed({ ...info, composeHash: h("other") }))[0], false);
    assert.equal((await allowed({ ...info, deviceId: h("other") }))[0], false);
    assert.deepEqual((await allowed({ ...info, appId: alice.address }))[0], false); // not registered
    assert.equal((await allowed({ ...info, osImageHash: h("other") }))[0], false);

    // the app's own policy changes are owner-only and visible through the KMS view
    await expectRevert("DstackApp", appId, "addComposeHash", [h("v2")], owner, {
      errorName: "OwnableUnauthorizedAccount",
    });
    const add = await send("DstackApp", appId, "addComposeHash", [h("v2")], alice);
    assert.deepEqual(Object.values(events("DstackApp", add, "ComposeHashAdded", appId)[0].args), [h("v2")]);
    assert.deepEqual(await allowed({ ...info, composeHash: h("v2") }), [true, ""]);
    const rm = await send("DstackApp", appId, "removeComposeHash", [compose], alice);
    assert.equal(events("DstackApp", rm, "ComposeHashRemoved", appId).length, 1);
    assert.equal((await allowed(info))[0], false);

    await send("DstackApp", appId, "setAllowAnyDevice", [true], alice);
    assert.deepEqual(await allowed({ ...info, composeHash: h("v2"), deviceId: h("any") }), [true, ""]);
    await send("DstackApp", appId, "setRequireTcbUpToDate", [true], alice);
    assert.equal((await allowed({ ...info, composeHash: h("v2"), tcbStatus: "OutOfDate" }))[0], false);
    const t = await send("DstackApp", appId, "setRequireTcbUpToDate", [false], alice);
    assert.deepEqual(Object.values(events("DstackApp", t, "RequireTcbUpToDateSet", appId)[0].args), [false]);
    assert.deepEqual(await allowed({ ...info, composeHash: h("v2"), tcbStatus: "OutOfDate" }), [true, ""]);
    const rd = await send("DstackApp", appId, "removeDevice", [device], alice);
    assert.equal(events("DstackApp", rd, "DeviceRemoved", appId).length, 1);

    // registerApp is open; zero is rejected
    const reg = await send("DstackKms", kms, "registerApp", [appId], mallory);
    assert.equal(events("DstackKms", reg, "AppRegistered", kms).length, 1);
    await expectRevert("DstackKms", kms, "registerApp", [zeroAddress], mallory, { reason: "Invalid app ID" });
  });

  it("upgrades via UUPS (owner only) keeping state", async () => {
    const { kms } = await deployKms();
    const img = h("persist");
    await send("DstackKms", kms, "addOsImageHash", [img]);
    const v2 = await deploy("DstackKmsV2");
    await expectRevert("DstackKms", kms, "upgradeToAndCall", [v2, "0x"], mallory, {
      errorName: "OwnableUnauthorizedAccount",
    });
    const r = await send("DstackKms", kms, "upgradeToAndCall", [v2, "0x"]);
    assert.equal(events("DstackKms", r, "Upgraded", kms).length, 1);
    assert.equal(await read("DstackKmsV2", kms, "version"), "2");
    assert.equal(await read("DstackKms", kms, "allowedOsImages", [img]), true);
    assert.equal(await read("DstackKms", kms, "owner"), owner.address);
  });
});

describe("DstackApp", () => {
  it("disableUpgrades makes upgradeToAndCall revert permanently", async () => {
    const { kms } = await deployKms();
    const r = await send("DstackKms", kms, "deployAndRegisterApp", [
      owner.address,
      false,
      true,
      true,
      zeroHash,
      zeroHash,
    ]);
    const { appId } = events("DstackKms", r, "AppDeployedViaFactory", kms)[0].args as { appId: Address };
    // zero initial id/hash adds nothing
    assert.equal(events("DstackApp", r, "ComposeHashAdded", appId).length, 0);
    assert.equal(events("DstackApp", r, "DeviceAdded", appId).length, 0);
    assert.equal(await read("DstackApp", appId, "allowedComposeHashes", [zeroHash]), false);
    assert.equal(await read("DstackApp", appId, "allowAnyDevice"), true);
    assert.equal(await read("DstackApp", appId, "requireTcbUpToDate"), true);

    // upgrades work before they are disabled
    const v2 = await deploy("DstackAppV2");
    assert.equal(await read("DstackApp", appId, "version"), 2n);
    await send("DstackApp", appId, "upgradeToAndCall", [v2, "0x"]);
    assert.equal(await read("DstackAppV2", appId, "version"), 3n);

    await expectRevert("DstackApp", appId, "disableUpgrades", [], mallory, { errorName: "OwnableUnauthorizedAccount" });
    const d = await send("DstackApp", appId, "disableUpgrades");
    assert.equal(events("DstackApp", d, "UpgradesDisabled", appId).length, 1);
    assert.equal(await upgradesDisabledSlot(appId), true);

    const v3 = await deploy("DstackAppV2");
    await expectRevert("DstackApp", appId, "upgradeToAndCall", [v3, "0x"], owner, {
      reason: "Upgrades are permanently disabled",
    });
    // and a real transaction fails too
    await assert.rejects(
      wallet(owner).writeContract({
        address: appId,
        abi: abi("DstackApp"),
        functionName: "upgradeToAndCall",
        args: [v3, "0x"],
        chain: foundry,
      }),
      /Upgrades are permanently disabled/,
    );
  });

  it("initialize with disableUpgrades=true blocks upgrades from the start", async () => {
    const { kms } = await deployKms();
    const r = await send("DstackKms", kms, "deployAndRegisterApp", [
      owner.address,
      true,
      false,
      false,
      zeroHash,
      h("c"),
    ]);
    const { appId } = events("DstackKms", r, "AppDeployedViaFactory", kms)[0].args as { appId: Address };
    // as upstream: the initializer sets the private flag without an event, and there is no getter
    assert.equal(events("DstackApp", r, "UpgradesDisabled", appId).length, 0);
    assert.equal(await upgradesDisabledSlot(appId), true);
    const v2 = await deploy("DstackAppV2");
    await expectRevert("DstackApp", appId, "upgradeToAndCall", [v2, "0x"], owner, {
      reason: "Upgrades are permanently disabled",
    });
  });
});

/** The ABI each upstream shape has (read from upstream v0.5.11 and main at 312dc605): nothing more, nothing less. */
const BOOT_INFO = "(address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[])";
const OWNABLE_UUPS = [
  "UPGRADE_INTERFACE_VERSION()",
  "owner()",
  "proxiableUUID()",
  "renounceOwnership()",
  "supportsInterface(bytes4)",
  "transferOwnership(address)",
  "upgradeToAndCall(address,bytes)",
];
const OWNABLE_UUPS_EVENTS = ["Initialized(uint64)", "OwnershipTransferred(address,address)", "Upgraded(address)"];
const TWO_STEP = ["acceptOwnership()", "pendingOwner()"];
const TWO_STEP_EVENTS = ["OwnershipTransferStarted(address,address)", "PolicyChanged(address,bytes32,bytes32,bool)"];
const RELEASED_APP = {
  functions: [
    ...OWNABLE_UUPS,
    "addComposeHash(bytes32)",
    "addDevice(bytes32)",
    "allowAnyDevice()",
    "allowedComposeHashes(bytes32)",
    "allowedDeviceIds(bytes32)",
    "disableUpgrades()",
    "initialize(address,bool,bool,bytes32,bytes32)",
    "initialize(address,bool,bool,bool,bytes32,bytes32)",
    `isAppAllowed(${BOOT_INFO})`,
    "removeComposeHash(bytes32)",
    "removeDevice(bytes32)",
    "requireTcbUpToDate()",
    "setAllowAnyDevice(bool)",
    "setRequireTcbUpToDate(bool)",
    "version()",
  ],
  events: [
    ...OWNABLE_UUPS_EVENTS,
    "AllowAnyDeviceSet(bool)",
    "ComposeHashAdded(bytes32)",
    "ComposeHashRemoved(bytes32)",
    "DeviceAdded(bytes32)",
    "DeviceRemoved(bytes32)",
    "RequireTcbUpToDateSet(bool)",
    "UpgradesDisabled()",
  ],
};
const RELEASED_KMS = {
  functions: [
    ...OWNABLE_UUPS,
    "addKmsAggregatedMr(bytes32)",
    "addKmsDevice(bytes32)",
    "addOsImageHash(bytes32)",
    "allowedOsImages(bytes32)",
    "appImplementation()",
    "deployAndRegisterApp(address,bool,bool,bool,bytes32,bytes32)",
    "deployAndRegisterApp(address,bool,bool,bytes32,bytes32)",
    "gatewayAppId()",
    "initialize(address,address)",
    `isAppAllowed(${BOOT_INFO})`,
    `isKmsAllowed(${BOOT_INFO})`,
    "kmsAllowedAggregatedMrs(bytes32)",
    "kmsAllowedDeviceIds(bytes32)",
    "kmsInfo()",
    "registerApp(address)",
    "registeredApps(address)",
    "removeKmsAggregatedMr(bytes32)",
    "removeKmsDevice(bytes32)",
    "removeOsImageHash(bytes32)",
    "setAppImplementation(address)",
    "setGatewayAppId(string)",
    "setKmsEventlog(bytes)",
    "setKmsInfo((bytes,bytes,bytes,bytes))",
    "setKmsQuote(bytes)",
  ],
  events: [
    ...OWNABLE_UUPS_EVENTS,
    "AppDeployedViaFactory(address,address)",
    "AppImplementationSet(address)",
    "AppRegistered(address)",
    "GatewayAppIdSet(string)",
    "KmsAggregatedMrAdded(bytes32)",
    "KmsAggregatedMrRemoved(bytes32)",
    "KmsDeviceAdded(bytes32)",
    "KmsDeviceRemoved(bytes32)",
    "KmsInfoSet(bytes)",
    "OsImageHashAdded(bytes32)",
    "OsImageHashRemoved(bytes32)",
  ],
};

function signatures(name: ArtifactName, type: "function" | "event"): string[] {
  const items = abi(name).filter((item) => item.type === type);
  return items
    .map((item) =>
      type === "function" ? toFunctionSignature(item as AbiFunction) : toEventSignature(item as AbiEvent),
    )
    .sort();
}

describe("upstream shapes", () => {
  const shapes = [
    { name: "DstackApp", functions: RELEASED_APP.functions, events: RELEASED_APP.events },
    {
      name: "DstackAppTwoStep",
      functions: [...RELEASED_APP.functions, ...TWO_STEP],
      events: [...RELEASED_APP.events, ...TWO_STEP_EVENTS],
    },
    { name: "DstackKms", functions: RELEASED_KMS.functions, events: RELEASED_KMS.events },
    {
      name: "DstackKmsTwoStep",
      functions: [...RELEASED_KMS.functions, ...TWO_STEP],
      events: [...RELEASED_KMS.events, ...TWO_STEP_EVENTS],
    },
  ] as const;
  for (const shape of shapes) {
    it(`${shape.name} has exactly the upstream functions and events (no upgradesDisabled getter, no tcbPolicy)`, () => {
      assert.deepEqual(signatures(shape.name, "function"), [...shape.functions].sort());
      assert.deepEqual(signatures(shape.name, "event"), [...shape.events].sort());
    });
  }

  it("keeps the private upgrades-disabled flag where upstream does: slot 1, byte 0, beside allowAnyDevice", async () => {
    for (const name of ["DstackApp", "DstackAppTwoStep"] as const) {
      const appImpl = await deploy(name);
      const init = (locked: boolean, tcb: boolean, anyDevice: boolean) =>
        encodeFunctionData({
          abi: abi(name),
          functionName: "initialize",
          args: [owner.address, locked, tcb, anyDevice, zeroHash, zeroHash],
        });
      const slot = async (app: Address, index: number) =>
        BigInt((await pub.getStorageAt({ address: app, slot: toHex(index, { size: 32 }) })) ?? "0x0");
      const locked = await deploy("ERC1967Proxy", [appImpl, init(true, false, false)]);
      const anyDevice = await deploy("ERC1967Proxy", [appImpl, init(false, true, true)]);
      assert.equal(await slot(locked, 1), 0x01n, `${name}: locked app`);
      assert.equal(await slot(anyDevice, 1), 0x0100n, `${name}: allowAnyDevice is the next byte`);
      assert.equal(await slot(anyDevice, 3), 1n, `${name}: requireTcbUpToDate in slot 3`);
      assert.equal(await slot(locked, 3), 0n);
      await expectRevert(name, locked, "upgradeToAndCall", [appImpl, "0x"], owner, {
        reason: "Upgrades are permanently disabled",
      });
    }
  });

  it("two-step shape: a transfer waits for the new owner's acceptOwnership, a zero transfer cancels it, policy writes emit PolicyChanged", async () => {
    const kmsImpl = await deploy("DstackKmsTwoStep");
    const appImpl = await deploy("DstackAppTwoStep");
    const kms = await deploy("ERC1967Proxy", [
      kmsImpl,
      encodeFunctionData({ abi: abi("DstackKmsTwoStep"), functionName: "initialize", args: [owner.address, appImpl] }),
    ]);
    const r = await send("DstackKmsTwoStep", kms, "deployAndRegisterApp", [
      owner.address,
      false,
      false,
      false,
      zeroHash,
      h("c"),
    ]);
    const { appId } = events("DstackKmsTwoStep", r, "AppDeployedViaFactory", kms)[0].args as { appId: Address };
    assert.equal(events("DstackAppTwoStep", r, "PolicyChanged", appId).length, 1);

    const t = await send("DstackAppTwoStep", appId, "transferOwnership", [alice.address]);
    assert.deepEqual(events("DstackAppTwoStep", t, "OwnershipTransferStarted", appId)[0].args, {
      previousOwner: owner.address,
      newOwner: alice.address,
    });
    assert.equal(await read("DstackAppTwoStep", appId, "owner"), owner.address);
    assert.equal(await read("DstackAppTwoStep", appId, "pendingOwner"), alice.address);
    await expectRevert("DstackAppTwoStep", appId, "acceptOwnership", [], mallory, {
      errorName: "OwnableUnauthorizedAccount",
    });
    await send("DstackAppTwoStep", appId, "transferOwnership", [zeroAddress], owner);
    assert.equal(await read("DstackAppTwoStep", appId, "pendingOwner"), zeroAddress);
    await expectRevert("DstackAppTwoStep", appId, "acceptOwnership", [], alice, {
      errorName: "OwnableUnauthorizedAccount",
    });

    await send("DstackKmsTwoStep", kms, "transferOwnership", [alice.address]);
    const a = await send("DstackKmsTwoStep", kms, "acceptOwnership", [], alice);
    assert.equal(events("DstackKmsTwoStep", a, "OwnershipTransferred", kms).length, 1);
    assert.equal(await read("DstackKmsTwoStep", kms, "owner"), alice.address);
    assert.equal(await read("DstackKmsTwoStep", kms, "pendingOwner"), zeroAddress);
    const p = await send("DstackKmsTwoStep", kms, "addOsImageHash", [h("os")], alice);
    assert.deepEqual(events("DstackKmsTwoStep", p, "PolicyChanged", kms)[0].args, {
      actor: alice.address,
      policy: keccak256(toHex("os-image")),
      value: h("os"),
      enabled: true,
    });
    const d = await send("DstackAppTwoStep", appId, "disableUpgrades");
    assert.equal(events("DstackAppTwoStep", d, "PolicyChanged", appId).length, 1);
  });
});

describe("ExpiringTimelock", () => {
  const DELAY = 3600n;
  const EXPIRATION = 86_400n;

  async function deployTimelock(executors: Address[] = [owner.address]) {
    return deploy("ExpiringTimelock", [DELAY, [owner.address], executors, zeroAddress, EXPIRATION]);
  }

  it("rejects a zero expiration at construction", async () => {
    const a = loadArtifact("ExpiringTimelock");
    await assert.rejects(
      wallet(owner).deployContract({
        abi: a.abi,
        bytecode: a.bytecode,
        args: [DELAY, [owner.address], [owner.address], zeroAddress, 0n],
      }),
    );
  });

  it("updateExpiration is only callable by the timelock itself", async () => {
    const tl = await deployTimelock();
    assert.equal(await read("ExpiringTimelock", tl, "expiration"), EXPIRATION);
    await expectRevert("ExpiringTimelock", tl, "updateExpiration", [1n], owner, {
      errorName: "TimelockUnauthorizedCaller",
      args: [owner.address],
    });
  });

  it("executes inside the window, refuses after expiration", async () => {
    const tl = await deployTimelock();
    const data1 = encodeFunctionData({ abi: abi("ExpiringTimelock"), functionName: "updateExpiration", args: [7200n] });
    const salt1 = h("salt-1");
    const op1 = [tl, 0n, data1, zeroHash, salt1] as const;
    const id1 = await read<Hex>("ExpiringTimelock", tl, "hashOperation", [...op1]);
    await send("ExpiringTimelock", tl, "schedule", [...op1, DELAY]);

    // too early
    await expectRevert("ExpiringTimelock", tl, "execute", [...op1], owner, {
      errorName: "TimelockUnexpectedOperationState",
    });
    // inside the window
    await warp(DELAY + 10n);
    assert.equal(await read("ExpiringTimelock", tl, "isOperationExpired", [id1]), false);
    const r = await send("ExpiringTimelock", tl, "execute", [...op1]);
    const changed = events("ExpiringTimelock", r, "ExpirationChanged", tl);
    assert.deepEqual(changed[0].args, { oldExpiration: EXPIRATION, newExpiration: 7200n });
    assert.equal(await read("ExpiringTimelock", tl, "expiration"), 7200n);
    assert.equal(await read("ExpiringTimelock", tl, "isOperationDone", [id1]), true);
    assert.equal(await read("ExpiringTimelock", tl, "isOperationExpired", [id1]), false); // done is not expired

    // second operation left past delay + expiration
    const data2 = encodeFunctionData({ abi: abi("ExpiringTimelock"), functionName: "updateExpiration", args: [1234n] });
    const op2 = [tl, 0n, data2, zeroHash, h("salt-2")] as const;
    const id2 = await read<Hex>("ExpiringTimelock", tl, "hashOperation", [...op2]);
    await send("ExpiringTimelock", tl, "schedule", [...op2, DELAY]);
    await warp(DELAY + 7200n - 100n);
    assert.equal(await read("ExpiringTimelock", tl, "isOperationExpired", [id2]), false); // still in window
    await warp(200n);
    assert.equal(await read("ExpiringTimelock", tl, "isOperationReady", [id2]), true);
    assert.equal(await read("ExpiringTimelock", tl, "isOperationExpired", [id2]), true);
    await expectRevert("ExpiringTimelock", tl, "execute", [...op2], owner, {
      errorName: "TimelockOperationExpired",
      args: [id2],
    });
    assert.equal(await read("ExpiringTimelock", tl, "expiration"), 7200n);

    // expired operations can still be cancelled
    await send("ExpiringTimelock", tl, "cancel", [id2]);
    assert.equal(await read("ExpiringTimelock", tl, "isOperationExpired", [id2]), false);
  });

  it("executeBatch honours the expiration too", async () => {
    const tl = await deployTimelock();
    const data = encodeFunctionData({ abi: abi("ExpiringTimelock"), functionName: "updateExpiration", args: [999n] });
    const batch = [[tl], [0n], [data], zeroHash, h("batch")] as const;
    const id = await read<Hex>("ExpiringTimelock", tl, "hashOperationBatch", [...batch]);
    await send("ExpiringTimelock", tl, "scheduleBatch", [...batch, DELAY]);
    await warp(DELAY + EXPIRATION + 1n);
    await expectRevert("ExpiringTimelock", tl, "executeBatch", [...batch], owner, {
      errorName: "TimelockOperationExpired",
      args: [id],
    });
  });

  it("governs a DstackKms it owns (open executor role)", async () => {
    const tl = await deployTimelock([zeroAddress]); // anyone may execute
    const { kms } = await deployKms();
    const t = await send("DstackKms", kms, "transferOwnership", [tl]);
    assert.equal(events("DstackKms", t, "OwnershipTransferred", kms).length, 1);
    assert.equal(await read("DstackKms", kms, "owner"), tl); // single-step
    await expectRevert("DstackKms", kms, "addOsImageHash", [h("img")], owner, {
      errorName: "OwnableUnauthorizedAccount",
    });

    const data = encodeFunctionData({ abi: abi("DstackKms"), functionName: "addOsImageHash", args: [h("img")] });
    const op = [kms, 0n, data, zeroHash, zeroHash] as const;
    await send("ExpiringTimelock", tl, "schedule", [...op, DELAY]);
    await warp(DELAY);
    const r = await send("ExpiringTimelock", tl, "execute", [...op], mallory);
    assert.equal(events("DstackKms", r, "OsImageHashAdded", kms).length, 1);
    assert.equal(await read("DstackKms", kms, "allowedOsImages", [h("img")]), true);
  });
});

describe("Multicall3", () => {
  it("serves viem's multicall from the canonical address", async () => {
    await test.setCode({ address: MULTICALL3, bytecode: loadArtifact("Multicall3").deployedBytecode });
    const { kms } = await deployKms();
    await send("DstackKms", kms, "addOsImageHash", [h("mc")]);
    const kmsAbi = abi("DstackKms");
    const results = await pub.multicall({
      multicallAddress: MULTICALL3,
      contracts: [
        { address: kms, abi: kmsAbi, functionName: "owner" },
        { address: kms, abi: kmsAbi, functionName: "allowedOsImages", args: [h("mc")] },
        { address: kms, abi: kmsAbi, functionName: "allowedOsImages", args: [h("nope")] },
        { address: kms, abi: abi("DstackKmsV2"), functionName: "version" }, // not on V1: fails
      ],
    });
    assert.deepEqual(
      results.map((r) => r.status),
      ["success", "success", "success", "failure"],
    );
    assert.equal(results[0].result, owner.address);
    assert.equal(results[1].result, true);
    assert.equal(results[2].result, false);

    const mcAbi = abi("Multicall3");
    const block = await pub.getBlockNumber();
    assert.equal(await pub.readContract({ address: MULTICALL3, abi: mcAbi, functionName: "getBlockNumber" }), block);
    const bal = await pub.getBalance({ address: alice.address });
    assert.equal(
      await pub.readContract({ address: MULTICALL3, abi: mcAbi, functionName: "getEthBalance", args: [alice.address] }),
      bal,
    );
    const ts = (await pub.getBlock()).timestamp;
    assert.equal(
      await pub.readContract({ address: MULTICALL3, abi: mcAbi, functionName: "getCurrentBlockTimestamp" }),
      ts,
    );

    // allowFailure=false reverts the whole call
    await assert.rejects(
      pub.multicall({
        multicallAddress: MULTICALL3,
        allowFailure: false,
        contracts: [{ address: kms, abi: abi("DstackKmsV2"), functionName: "version" }],
      }),
    );
  });
});
