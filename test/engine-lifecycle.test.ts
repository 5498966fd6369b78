import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { devAccounts } from "../devnet/accounts";
import { devMeasurement } from "../devnet/deploy";
import type { StackConfigInput } from "../src/config/schema";
import { approveProposal, executeSafeTransaction, executeTimelockBatch, signProposal } from "../src/proposal/execute";
import { proposalStatus } from "../src/proposal/status";
import { inspectStack, proposeChanges } from "../src/reconcile/reconcile";
import { openStack } from "../src/reconcile/stack";
import { owners, startTestDevnet, type TestDevnet } from "./helpers/devnet";

const keyOf = (address: string) =>
  [...devAccounts.safeOwners, ...devAccounts.spareOwners].find((a) => a.address === address)!.privateKey;

describe("engine lifecycle on a safe+timelock devnet", () => {
  let devnet: TestDevnet;
  let root: string;
  let config: StackConfigInput;
  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    root = mkdtempSync(join(tmpdir(), "gov-engine-"));
    config = devnet.config();
  });
  after(() => devnet.stop());

  const open = () => openStack({ name: "devnet", root, rawConfig: config });

  /** plan → proposal → 2 signatures (one file, one on-chain) → Safe exec → warp → timelock exec → empty plan. */
  async function reconcile(expectedDescriptions: RegExp[]) {
    const stack = await open();
    const inspection = await inspectStack(stack);
    assert.equal(
      inspection.calls.length,
      expectedDescriptions.length,
      inspection.calls.map((c) => c.description).join("\n"),
    );
    expectedDescriptions.forEach((re, i) => assert.match(inspection.calls[i].description, re));
    const blockBefore = await stack.client.getBlockNumber();
    const proposal = (await proposeChanges(stack, inspection, owners[0].privateKey))!;
    assert.equal(await stack.client.getBlockNumber(), blockBefore, "proposing sends nothing");
    const threshold = inspection.live.safe!.threshold;
    assert.deepEqual(await proposalStatus(stack.client, proposal), {
      state: "awaiting-signatures",
      have: 1,
      need: threshold,
      signers: [owners[0].address],
    });

    const again = await inspectStack(stack);
    assert.deepEqual(
      again.carriers.map((t) => t.proposal.id),
      [proposal.id],
      "the in-flight proposal covers the same plan",
    );
    assert.deepEqual(again.uncovered, []);

    const executor = devnet.wallet(devAccounts.executor.privateKey);
    // The remaining signatures: on-chain approvals by the other current owners.
    const others = inspection.live.safe!.owners.filter((o) => o !== owners[0].address).slice(0, threshold - 1);
    for (const owner of others) await approveProposal(stack.client, devnet.wallet(keyOf(owner)), proposal);
    await executeSafeTransaction(stack.client, executor, proposal);
    if (proposal.timelock?.targets.length) {
      assert.equal((await proposalStatus(stack.client, proposal)).state, "scheduled");
      await assert.rejects(executeTimelockBatch(stack.client, executor, proposal), /queued in the timelock/);
      await devnet.warp(BigInt(proposal.timelock.delay));
      assert.equal((await proposalStatus(stack.client, proposal)).state, "ready");
      await executeTimelockBatch(stack.client, executor, proposal);
    }
    assert.equal((await proposalStatus(stack.client, proposal)).state, "executed");
    const final = await inspectStack(await open());
    assert.deepEqual(
      final.calls.map((c) => c.description),
      [],
      "re-read after execution gives an empty plan",
    );
    return proposal;
  }

  it("a fresh devnet matches its config", async () => {
    const inspection = await inspectStack(await open());
    assert.deepEqual(inspection.calls, []);
  });

  it("OS image, KMS MR, KMS device: add and revoke", async () => {
    const image = devMeasurement("dstack-os-0.5.5");
    config.kms.osImages = [...config.kms.osImages, image];
    config.kms.aggregatedMrs = [devMeasurement("kms-mr-2")];
    config.kms.devices = [];
    // Revoking the only device shrinks the set by more than half: a written override lets it through.
    config.policy = {
      overrides: [{ rule: "set.mass-removal", reason: "devnet: the only KMS device is revoked on purpose" }],
    };
    await reconcile([
      new RegExp(`KMS: authorize OS image ${image}`),
      /KMS: authorize KMS aggregated MR/,
      /KMS: revoke KMS aggregated MR/,
      /KMS: revoke KMS device/,
    ]);
  });

  it("gateway app id, app implementation, KMS info", async () => {
    delete config.policy;
    config.kms.gatewayAppId = "gateway-v2";
    config.kms.appImplementation = devnet.deployment.appV2Implementation;
    config.kms.info = { k256Pubkey: "0x02aa", caPubkey: "0xbb", quote: "0x", eventlog: "0x" };
    await reconcile([
      /gateway app id "gateway-devnet" → "gateway-v2"/,
      /app implementation for new apps/,
      /set KMS info/,
    ]);
  });

  it("compose hash, app device, allow-any-device", async () => {
    const app = config.apps![0];
    const compose = devMeasurement("app-one-compose-v3");
    app.composeHashes = [app.composeHashes[1], compose];
    app.devices = [...(app.devices ?? []), devMeasurement("app-one-device-2")];
    app.allowAnyDevice = true;
    await reconcile([
      /app-one: allow any device false → true/,
      new RegExp(`app-one: authorize compose hash ${compose}`),
      /app-one: revoke compose hash/,
      /app-one: authorize device/,
    ]);
  });

  it("proxy upgrades of the KMS and an app", async () => {
    config.kms.implementation = devnet.deployment.kmsV2Implementation;
    config.apps![1].implementation = devnet.deployment.appV2Implementation;
    await reconcile([/KMS: upgrade implementation .* → /, /app-two: upgrade implementation/]);
  });

  it("timelock delay and expiration", async () => {
    if (config.governance.mode !== "safe+timelock") throw new Error("unexpected mode");
    config.governance.timelock.delay = "2h";
    config.governance.timelock.expiration = "5d";
    const proposal = await reconcile([/Timelock: delay 1h → 2h/, /Timelock: expiration window 3d → 5d/]);
    assert.equal(proposal.timelock!.delay, "3600", "scheduled with the delay in force, never shorter");
  });

  it("Safe: add a signer, swap one, raise the threshold, remove one", async () => {
    if (config.governance.mode === "direct") throw new Error("unexpected mode");
    const safe = config.governance.safe;
    const [spare1, spare2] = devAccounts.spareOwners;
    safe.owners = [...safe.owners, { address: spare1.address, org: "operator-c" }];
    safe.threshold = 3;
    await reconcile([new RegExp(`Safe: add signer ${spare1.address} \\(threshold 2 → 3\\)`)]);
    safe.owners = safe.owners.map((o) =>
      o.address === owners[2].address ? { address: spare2.address, org: "operator-d" } : o,
    );
    await reconcile([new RegExp(`Safe: replace signer ${owners[2].address} with ${spare2.address}`)]);
    safe.owners = safe.owners.filter((o) => o.address !== spare1.address);
    safe.threshold = 2;
    await reconcile([new RegExp(`Safe: remove signer ${spare1.address} \\(threshold 3 → 2\\)`)]);
  });

  it("ownership transfer of an app to the Safe", async () => {
    if (config.governance.mode !== "safe+timelock") throw new Error("unexpected mode");
    config.apps![0].owner = config.governance.safe.address;
    await reconcile([/app-one: transfer ownership .* → /]);
  });

  it("same inputs twice give byte-identical files, one proposal", async () => {
    config.kms.osImages = [...config.kms.osImages, devMeasurement("dstack-os-0.6.0")];
    const stack = await open();
    const first = (await proposeChanges(stack, await inspectStack(stack), owners[0].privateKey))!;
    const dir = join(root, "proposals", "devnet");
    const snapshot = () => Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), "utf8")]));
    const before = snapshot();
    const second = (await proposeChanges(stack, await inspectStack(stack), owners[0].privateKey))!;
    assert.equal(second.safeTxHash, first.safeTxHash);
    assert.equal(second.timelock!.operationId, first.timelock!.operationId);
    assert.deepEqual(snapshot(), before);
    const signed = await signProposal(stack.client, first, owners[1].privateKey);
    assert.equal(signed.signatures.length, 2);
  });
});
