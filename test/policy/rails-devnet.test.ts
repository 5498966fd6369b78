import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  createTestClient,
  createWalletClient,
  encodeFunctionData,
  getAddress,
  http,
  parseEther,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import { dstackAppAbi, dstackKmsAbi } from "../../src/chain/abis";
import { chainDefinition } from "../../src/chain/client";
import type { StackConfigInput } from "../../src/config/schema";
import { writeStackFile } from "../../src/config/stack-file";
import { safeOwnerCalls } from "../../src/plan/safe-owners";
import { inspectPolicy } from "../../src/policy/gate";
import { proposalDir } from "../../src/proposal/files";
import { approveProposal, executeSafeTransaction, executeTimelockBatch } from "../../src/proposal/execute";
import { proposalStatus } from "../../src/proposal/status";
import { inspectStack, proposeChanges } from "../../src/reconcile/reconcile";
import { openStack, type Stack } from "../../src/reconcile/stack";
import { owners, startTestDevnet, type TestDevnet } from "../helpers/devnet";

type TimelockGovernance = Extract<StackConfigInput["governance"], { mode: "safe+timelock" }>;
const governanceOf = (c: StackConfigInput) => c.governance as TimelockGovernance;
const reason = "devnet: only three dev keys and a one-hour delay exist here";

/** Sends a call as the devnet's timelock (anvil impersonation): changes a stack's chain behind governance's back. */
async function asTimelock(devnet: TestDevnet, to: Address, abi: Abi, functionName: string, args: readonly unknown[]) {
  const chain = chainDefinition(devnet.anvil.chainId, [devnet.anvil.rpcUrl]);
  const timelock = devnet.deployment.timelock!;
  const anvil = createTestClient({ mode: "anvil", chain, transport: http(devnet.anvil.rpcUrl) });
  await anvil.impersonateAccount({ address: timelock });
  await anvil.setBalance({ address: timelock, value: parseEther("1") });
  const wallet = createWalletClient({ chain, transport: http(devnet.anvil.rpcUrl) });
  await wallet.sendTransaction({
    account: timelock,
    chain,
    to,
    data: encodeFunctionData({ abi, functionName, args } as never),
  });
  await anvil.mine({ blocks: 1 });
}

const files = (root: string, stack = "devnet") =>
  existsSync(proposalDir(root, stack)) ? readdirSync(proposalDir(root, stack)) : [];
const packetOf = (root: string, id: string) => readFileSync(join(proposalDir(root, "devnet"), `${id}.md`), "utf8");

describe("rails, upgrade checks and convergence proofs on a safe+timelock devnet", () => {
  let devnet: TestDevnet;
  /** The config that matches the chain; the emergency scenario executes and changes it. */
  let matching: StackConfigInput;
  const current = () => structuredClone(matching);
  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    matching = devnet.config();
  });
  after(() => devnet.stop());

  /** A fresh proposals root per scenario: what one writes never covers another's plan. */
  async function open(config: StackConfigInput): Promise<{ stack: Stack; root: string }> {
    const root = mkdtempSync(join(tmpdir(), "gov-rails-"));
    return { stack: await openStack({ name: "devnet", root, rawConfig: config }), root };
  }

  async function refused(config: StackConfigInput, pattern: RegExp) {
    const { stack, root } = await open(config);
    const blockBefore = await stack.client.getBlockNumber();
    await assert.rejects(proposeChanges(stack, await inspectStack(stack), owners[0].privateKey), pattern);
    assert.deepEqual(files(root), [], "nothing written");
    assert.equal(await stack.client.getBlockNumber(), blockBefore, "nothing sent");
  }

  async function proposedWithProof(config: StackConfigInput) {
    const { stack, root } = await open(config);
    const blockBefore = await stack.client.getBlockNumber();
    const proposal = (await proposeChanges(stack, await inspectStack(stack), owners[0].privateKey, {
      proveConvergence: true,
    }))!;
    assert.equal(await stack.client.getBlockNumber(), blockBefore, "the proof ran on a fork: the devnet did not move");
    assert.equal(proposal.convergence?.forkedAtBlock, blockBefore.toString());
    assert.match(proposal.convergence!.steps.at(-1)!, /empty plan$/);
    assert.match(
      packetOf(root, proposal.id),
      new RegExp(
        `## Convergence proof\\n\\nForked at block ${blockBefore} and ran this proposal to the end → empty plan`,
      ),
    );
    return { stack, root, proposal };
  }

  it("chain id: an RPC serving another chain is refused when the stack is opened", async () => {
    const config = current();
    config.network.chainId = 84532;
    await assert.rejects(
      open(config),
      /network\.chainId: the RPC serves chain 31337 but the stack declares 84532; point network\.rpcUrls at a chain-84532 RPC/,
    );
  });

  it("emergency revocation: marked in file and packet, proven on a fork, and still waits out the timelock", async () => {
    const config = current();
    const [revoked, kept] = config.kms.osImages;
    config.kms.osImages = [kept];
    const { stack, root, proposal } = await proposedWithProof(config);
    assert.equal(proposal.emergency, true);
    assert.equal(proposal.route, "safe+timelock");
    assert.equal(proposal.timelock!.delay, "3600", "scheduled with the timelock's full delay");
    assert.match(packetOf(root, proposal.id), /\*\*EMERGENCY REVOCATION\*\*/);
    assert.ok(proposal.convergence!.steps.some((s) => /advanced time 1h and executed timelock operation/.test(s)));

    await approveProposal(stack.client, devnet.wallet(owners[1].privateKey), proposal);
    await executeSafeTransaction(stack.client, devnet.wallet(devAccounts.executor.privateKey), proposal);
    assert.equal((await proposalStatus(stack.client, proposal)).state, "scheduled");
    await assert.rejects(
      executeTimelockBatch(stack.client, devnet.wallet(devAccounts.executor.privateKey), proposal),
      /queued in the timelock/,
    );
    await devnet.warp(3600n);
    await executeTimelockBatch(stack.client, devnet.wallet(devAccounts.executor.privateKey), proposal);
    const after = await inspectStack(stack);
    assert.deepEqual(after.calls, []);
    assert.ok(!after.live.kms.osImages.includes(revoked as Hex));
    matching = config;
  });

  it("empty OS image set: refused, let through only by policy.allowEmptyOsImages", async () => {
    const config = current();
    config.kms.osImages = [];
    await refused(
      config,
      /kms\.osImages: the OS image set would be empty: no CVM could boot \[rail\.empty-os-images\]; fix: .*policy\.allowEmptyOsImages: true/,
    );
    // Emptying a set also shrinks it by more than half: that needs its own written override.
    config.policy = {
      allowEmptyOsImages: true,
      overrides: [{ rule: "set.mass-removal", reason: "devnet: every OS image is revoked on purpose" }],
    };
    const { proposal } = await proposedWithProof(config);
    assert.equal(proposal.emergency, true);
  });

  it("empty compose hash set: refused, let through only by the app's allowEmptyComposeHashes", async () => {
    const config = current();
    config.apps![0].composeHashes = [];
    await refused(
      config,
      /apps\[0\]\.composeHashes: app app-one's compose hash set would be empty.*\[rail\.empty-compose-hashes\]/,
    );
    config.apps![0].allowEmptyComposeHashes = true;
    config.policy = {
      overrides: [{ rule: "set.mass-removal", reason: "devnet: every compose hash is revoked on purpose" }],
    };
    const { proposal } = await proposedWithProof(config);
    assert.deepEqual(
      proposal.calls.map((c) => c.functionName),
      ["removeComposeHash", "removeComposeHash"],
    );
  });

  it("last owner and threshold above the owners: unsafe Safe plans are refused", async () => {
    const { stack, root } = await open(current());
    const inspection = await inspectStack(stack);
    const safe = inspection.live.safe!;
    for (const [desired, pattern] of [
      [
        { owners: [], threshold: 0 },
        /governance\.safe\.owners \(after the proposal\): the proposal removes the Safe's last owner \[rail\.last-owner\]/,
      ],
      [
        { owners: safe.owners, threshold: 4 },
        /governance\.safe\.threshold \(after the proposal\): the proposal leaves threshold 4 with 3 owners \[rail\.threshold\]; fix: set governance\.safe\.threshold between 1 and 3/,
      ],
    ] as const) {
      const calls = safeOwnerCalls(safe.address, safe, desired);
      const unsafe = { ...inspection, calls, findings: await inspectPolicy(stack, inspection.live, calls) };
      await assert.rejects(proposeChanges(stack, unsafe, owners[0].privateKey), pattern);
    }
    assert.deepEqual(files(root), []);
  });

  it("ownership transfer away from governance: refused, let through only by policy.allowOwnershipTransfer", async () => {
    const config = current();
    config.apps![1].owner = devAccounts.outsider.address;
    await refused(
      config,
      /apps\[1\]\.owner: hands the contract to 0x.*, which is not this stack's timelock or Safe.*\[rail\.ownership-transfer\]/,
    );
    config.policy = { allowOwnershipTransfer: true };
    const { proposal } = await proposedWithProof(config);
    assert.match(
      proposal.calls[0].description,
      new RegExp(`app-two: transfer ownership to ${devAccounts.outsider.address}`),
    );
  });

  it("never schedules below the timelock's own delay, even when the proposal lowers it", async () => {
    const config = current();
    governanceOf(config).timelock.delay = "30m";
    const { stack } = await open(config);
    const inspection = await inspectStack(stack);
    assert.deepEqual(
      inspection.findings.warnings.map((w) => `${w.rule} ${w.path}`),
      ["timelock.delay governance.timelock.delay"],
      "non-production: a warning",
    );
    const { proposal } = await proposedWithProof(config);
    assert.equal(proposal.timelock!.delay, "3600", "the delay in force, not the new 30m");
  });

  it("upgrade checks: no code, wrong proxiableUUID, upgrades disabled; a sound upgrade is proven", async () => {
    const config = current();
    config.kms.implementation = "0x000000000000000000000000000000000000dEaD";
    await refused(
      config,
      /kms\.implementation: implementation 0x000000000000000000000000000000000000dEaD has no code at block \d+ \[upgrade\.no-code\]/,
    );

    // A contract that answers every call, proxiableUUID() included, with 0x11…11.
    const liar = getAddress("0x00000000000000000000000000000000000011ee");
    const anvil = createTestClient({ mode: "anvil", transport: http(devnet.anvil.rpcUrl) });
    await anvil.setCode({ address: liar, bytecode: `0x7f${"11".repeat(32)}60005260206000f3` as Hex });
    config.kms.implementation = liar;
    await refused(
      config,
      new RegExp(
        `kms\\.implementation: implementation ${liar} reports proxiableUUID 0x${"11".repeat(32)}, not the ERC-1967 slot 0x3608.*\\[upgrade\\.proxiable-uuid\\]`,
      ),
    );

    config.kms.implementation = devnet.deployment.kmsV2Implementation;
    const { proposal } = await proposedWithProof(config);
    assert.match(proposal.calls[0].description, /KMS: upgrade implementation/);

    await asTimelock(devnet, devnet.deployment.apps[1].proxy, dstackAppAbi, "disableUpgrades", []);
    const app = current();
    app.apps![1].implementation = devnet.deployment.appV2Implementation;
    await refused(
      app,
      /apps\[1\]\.implementation: app app-two has upgrades permanently disabled.*\[upgrade\.disabled\]; fix: remove apps\[1\]\.implementation/,
    );
  });

  it("convergence proof: a proposal that does not reach the config is refused before it is written", async () => {
    const config = current();
    config.kms.osImages = [...config.kms.osImages, devMeasurement("dstack-os-0.7.0")];
    config.kms.gatewayAppId = "gateway-v3";
    const { stack, root } = await open(config);
    const inspection = await inspectStack(stack);
    assert.equal(inspection.calls.length, 2);
    const partial = { ...inspection, calls: inspection.calls.slice(0, 1), uncovered: inspection.uncovered.slice(0, 1) };
    await assert.rejects(
      proposeChanges(stack, partial, owners[0].privateKey, { proveConvergence: true }),
      /convergence proof failed: .* the plan still has:\n {2}- KMS: authorize OS image/,
    );
    assert.deepEqual(files(root), []);
  });
});

describe("promotion gate: production only authorizes what the non-production stack already has", () => {
  let staging: TestDevnet;
  let prod: TestDevnet;
  before(
    async () =>
      ([staging, prod] = await Promise.all([startTestDevnet("safe+timelock"), startTestDevnet("safe+timelock")])),
  );
  after(async () => Promise.all([staging?.stop(), prod?.stop()]));

  it("refuses unpromoted OS images, compose hashes and implementations; accepts them once staging has them", async () => {
    const root = mkdtempSync(join(tmpdir(), "gov-promotion-"));
    writeStackFile(root, "staging", staging.config());
    const image = devMeasurement("dstack-os-0.6.1");
    const compose = devMeasurement("app-one-compose-v9");
    const config = prod.config();
    config.network.tier = "production";
    config.policy = {
      overrides: ["signers.count", "timelock.delay", "timelock.expiration"].map((rule) => ({
        rule: rule as never,
        reason,
      })),
      promotion: { fromStack: "staging" },
    };
    config.kms.osImages = [...config.kms.osImages, image];
    config.apps![0].composeHashes = [...config.apps![0].composeHashes, compose];
    config.kms.implementation = prod.deployment.kmsV2Implementation;

    const stack = await openStack({ name: "prod", root, rawConfig: config });
    const error = await proposeChanges(stack, await inspectStack(stack), owners[0].privateKey).then(
      () => assert.fail("accepted"),
      (e: Error) => e.message,
    );
    assert.match(
      error,
      new RegExp(
        `kms\\.osImages: OS image ${image} is not authorized on stack staging \\(chain 31337, block \\d+\\) \\[promotion\\.os-image\\]; fix: authorize it on staging first`,
      ),
    );
    assert.match(
      error,
      new RegExp(
        `apps\\[0\\]\\.composeHashes: compose hash ${compose} of app app-one is not authorized on stack staging .*\\[promotion\\.compose-hash\\]`,
      ),
    );
    assert.match(
      error,
      /kms\.implementation: implementation 0x[0-9a-fA-F]{40} runs code that no contract of stack staging .* runs \[promotion\.implementation\]; fix: upgrade staging to the same code first/,
    );
    assert.deepEqual(files(root, "prod"), []);

    // Staging gets them first (here behind governance's back, for speed).
    const s = staging.deployment;
    await asTimelock(staging, s.kms.proxy, dstackKmsAbi, "addOsImageHash", [image]);
    await asTimelock(staging, s.apps[0].proxy, dstackAppAbi, "addComposeHash", [compose]);
    await asTimelock(staging, s.kms.proxy, dstackKmsAbi, "upgradeToAndCall", [s.kmsV2Implementation, "0x"]);

    const proposal = (await proposeChanges(stack, await inspectStack(stack), owners[0].privateKey, {
      proveConvergence: true,
    }))!;
    assert.deepEqual(
      proposal.calls.map((c) => c.functionName),
      // Production routes Safe signer changes through the timelock: the first proposal makes it a Safe module.
      ["enableModule", "upgradeToAndCall", "addOsImageHash", "addComposeHash"],
    );
    assert.deepEqual(
      proposal.overrides?.map((o) => o.rule),
      ["signers.count", "timelock.delay", "timelock.expiration"],
    );
    assert.match(proposal.convergence!.steps.at(-1)!, /empty plan$/);
    const packet = readFileSync(join(proposalDir(root, "prod"), `${proposal.id}.md`), "utf8");
    assert.match(
      packet,
      /## Policy overrides\n\nThis proposal relies on the stack overriding the recommended configuration:\n\n- `signers\.count`: devnet: only three dev keys/,
    );
  });
});
