/**
 * The released upstream shape (v0.5.10/v0.5.11) read and governed by the engine: the private
 * upgrades-disabled flag from storage, requireTcbUpToDate as a governed property, and clear errors
 * for a contract that is no known DstackApp version.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTestClient, encodeFunctionData, http, parseEventLogs, zeroHash, type Address } from "viem";
import { devAccounts } from "../devnet/accounts";
import { devMeasurement } from "../devnet/deploy";
import { dstackAppAbi, dstackAppTcbAbi, dstackKmsAbi } from "../src/chain/abis";
import { createChainClient } from "../src/chain/client";
import { APP_FLAGS_SLOT, readLiveState } from "../src/chain/read-state";
import type { StackConfigInput } from "../src/config/schema";
import { inspectStack, proposeChanges } from "../src/reconcile/reconcile";
import { openStack } from "../src/reconcile/stack";
import { loadArtifact } from "../contracts/artifacts";
import { owners, sendAsImpersonated, startTestDevnet, type TestDevnet } from "./helpers/devnet";

describe("released DstackApp shape: variant, storage flag, requireTcbUpToDate", () => {
  let devnet: TestDevnet;
  let lockedApp: Address;
  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    // Anyone may create an app: an outsider does, through the factory's 5-argument form (TCB flag off), locked from birth.
    const outsider = devnet.wallet(devAccounts.outsider.privateKey);
    const data = encodeFunctionData({
      abi: loadArtifact("DstackKms").abi,
      functionName: "deployAndRegisterApp",
      args: [devnet.deployment.timelock!, true, false, zeroHash, devMeasurement("locked")],
    });
    const hash = await outsider.sendTransaction({
      account: outsider.account!,
      chain: outsider.chain,
      to: devnet.deployment.kms.proxy,
      data,
    });
    const receipt = await createChainClient({
      chainId: devnet.anvil.chainId,
      rpcUrls: [devnet.anvil.rpcUrl],
    }).waitForTransactionReceipt({ hash });
    const deployed = parseEventLogs({ abi: dstackKmsAbi, logs: receipt.logs, eventName: "AppDeployedViaFactory" });
    lockedApp = deployed[0].args.appId;
    assert.equal(
      parseEventLogs({ abi: dstackAppAbi, logs: receipt.logs, eventName: "UpgradesDisabled" }).length,
      0,
      "created locked without an event",
    );
  });
  after(() => devnet?.stop());

  const pick = (app: { variant: string; upgradesDisabled: boolean; requireTcbUpToDate?: boolean }) => ({
    variant: app.variant,
    upgradesDisabled: app.upgradesDisabled,
    requireTcbUpToDate: app.requireTcbUpToDate,
  });
  const open = (config: StackConfigInput) =>
    openStack({ name: "devnet", root: mkdtempSync(join(tmpdir(), "gov-variants-")), rawConfig: config });

  it("detects the released variant and reads requireTcbUpToDate and the storage flag of every app", async () => {
    const stack = await open(devnet.config());
    const live = await readLiveState(stack.client, stack.config);
    assert.equal(live.kms.variant, "released");
    assert.equal(live.kms.twoStepOwnership, false);
    assert.deepEqual(
      live.apps.map((a) => [a.name, a.variant, a.requireTcbUpToDate, a.upgradesDisabled]),
      [
        ["app-one", "released", true, false],
        ["app-two", "released", true, false],
      ],
    );
  });

  it("an app created locked through the factory: seen as locked, an upgrade refused naming the rule, nothing written", async () => {
    const config = devnet.config();
    config.apps!.push({
      name: "locked",
      proxy: lockedApp,
      composeHashes: [devMeasurement("locked")],
      requireTcbUpToDate: false,
    });
    const stack = await open(config);
    const inspection = await inspectStack(stack);
    assert.deepEqual(inspection.calls, []);
    assert.deepEqual(pick(inspection.live.apps[2]), {
      variant: "released",
      upgradesDisabled: true,
      requireTcbUpToDate: false,
    });

    config.apps![2].implementation = devnet.deployment.appV2Implementation;
    const upgrade = await open(config);
    await assert.rejects(
      proposeChanges(upgrade, await inspectStack(upgrade), owners[0].privateKey),
      /apps\[2\]\.implementation: app locked has upgrades permanently disabled \(its private flag is set, by disableUpgrades\(\) or at creation\) \[upgrade\.disabled\]/,
    );
    assert.equal(existsSync(join(upgrade.root, "proposals")), false, "no proposal written");
  });

  it("requireTcbUpToDate is governed: drift is planned back, a declared change is proposed", async () => {
    const appOne = devnet.deployment.apps[0].proxy;
    await sendAsImpersonated(
      devnet,
      devnet.deployment.timelock!,
      appOne,
      encodeFunctionData({ abi: dstackAppTcbAbi, functionName: "setRequireTcbUpToDate", args: [false] }),
    );
    const config = devnet.config();
    const drift = await inspectStack(await open(config));
    assert.deepEqual(
      drift.calls.map((c) => [c.functionName, c.args, c.description]),
      [["setRequireTcbUpToDate", [true], "app-one: require an up-to-date TCB false → true"]],
    );

    delete config.apps![0].requireTcbUpToDate;
    assert.deepEqual((await inspectStack(await open(config))).calls, [], "absent = not governed");
  });

  it("a storage layout the tool does not know, or a contract that is no DstackApp, is refused with a clear message", async () => {
    const appTwo = devnet.deployment.apps[1].proxy;
    const anvil = createTestClient({ mode: "anvil", transport: http(devnet.anvil.rpcUrl) });
    await anvil.setStorageAt({ address: appTwo, index: APP_FLAGS_SLOT, value: `0x${"0".repeat(60)}0201` });
    await assert.rejects(
      inspectStack(await open(devnet.config())),
      /app app-two at 0x[0-9a-fA-F]{40} is not a known dstack contract version:\n {2}- apps\[1\]\.proxy: storage slot 1 holds 0x201, but DstackApp v0\.5\.10–v0\.5\.11 \(single-step owner, requireTcbUpToDate\) keeps the upgrades-disabled flag in its byte 0.*; fix: check apps\[1\]\.proxy/,
    );
    await anvil.setStorageAt({ address: appTwo, index: APP_FLAGS_SLOT, value: zeroHash });

    const config = devnet.config();
    config.apps![1].proxy = devnet.deployment.safe!;
    await assert.rejects(
      inspectStack(await open(config)),
      // The address check names what is there before any variant probe runs.
      /apps\[1\]\.proxy: 0x[0-9a-fA-F]{40} is a Safe, not a DstackApp; fix: set apps\[1\]\.proxy to the address of a DstackApp/,
    );
  });
});
