import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, type Hex, type PublicClient } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { DEVNET_TIMELOCK_DELAY, DEVNET_TIMELOCK_EXPIRATION, devMeasurement } from "../../devnet/deploy";
import { dstackKmsAbi, safeAbi, timelockAbi } from "../../src/chain/abis";
import type { StackConfigInput } from "../../src/config/schema";
import { approveProposal, executeSafeTransaction } from "../../src/proposal/execute";
import { listProposals } from "../../src/proposal/files";
import { proposalStatus } from "../../src/proposal/status";
import type { ProposalFile } from "../../src/proposal/types";
import { sendAsImpersonated, type TestDevnet } from "../helpers/devnet";
import { adoptChain, startE2eStack } from "../helpers/e2e-stack";
import { isNoChange, type PulumiProject } from "../helpers/pulumi-project";
import { osImageAllowed } from "../helpers/kms-reads";

const [owner1, owner2, owner3] = devAccounts.safeOwners;

describe("pulumi preview/up on a safe+timelock devnet (real CLI)", () => {
  let devnet: TestDevnet;
  let project: PulumiProject;
  let config: StackConfigInput;
  let client: PublicClient;

  before(async () => {
    ({ devnet, project, config } = await startE2eStack({
      proposerKey: owner1.privateKey,
      executorKey: devAccounts.executor.privateKey,
    }));
    client = devnet.client;
    await adoptChain(project);
  });
  after(() => devnet.stop());

  const latestProposal = async (): Promise<ProposalFile> => (await listProposals(project.dir, "devnet")).at(-1)!;
  const imageAllowed = (hash: Hex) => osImageAllowed(client, devnet.deployment.kms.proxy, hash);
  /** k = 2 of 3: the proposer's file signature plus one on-chain approval, then the Safe executes. */
  async function signAndExecuteSafe(p: ProposalFile) {
    await approveProposal(client, devnet.wallet(owner2.privateKey), p);
    await executeSafeTransaction(client, devnet.wallet(devAccounts.executor.privateKey), p);
  }
  it("in sync: preview shows no changes and sends nothing", async () => {
    const block = await client.getBlockNumber();
    const preview = await project.preview();
    assert.ok(isNoChange(preview), preview.stdout + preview.stderr);
    assert.equal(await client.getBlockNumber(), block, "preview does not touch the chain");
  });

  it("adding a measurement: preview names it, up writes ONE proposal, the chain is unchanged, next preview shows it in flight", async () => {
    const hash = devMeasurement("dstack-os-0.6.0");
    config.kms.osImages = [...config.kms.osImages, hash];
    await project.configure(config);
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.stderr);
    assert.match(preview.output, new RegExp(`KMS: authorize OS image ${hash}`));
    assert.match(preview.output, /~ 2 to update/);
    assert.match(preview.output, /KmsPolicy/);

    const nonce = await client.readContract({ address: devnet.deployment.safe!, abi: safeAbi, functionName: "nonce" });
    const up = await project.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const files = project.proposalFiles();
    assert.equal(files.length, 3, files.join(","));
    // up ends with where the proposal is, what it lacks and what to run next.
    const id = files[0].replace(/\..*$/, "");
    // Pulumi's summary cuts a multi-line output short; `pulumi stack output` prints it whole.
    assert.match(up.stdout, /nextSteps/);
    const steps = await project.run("stack", "output", "nextSteps");
    assert.equal(steps.code, 0, steps.stderr);
    assert.ok(steps.stdout.includes(`proposals/devnet/${id}.{json,md,txbuilder.json}`), steps.stdout);
    assert.match(steps.stdout, /signatures: 1 of 2, 1 more needed/);
    assert.ok(steps.stdout.includes(`gov.js sign ${id} --stack devnet`), steps.stdout);
    assert.deepEqual(
      files.map((f) => f.replace(/^[^.]+/, "")),
      [".json", ".md", ".txbuilder.json"],
    );
    assert.equal(await imageAllowed(hash), false, "up changes nothing on chain");
    assert.equal(
      await client.readContract({ address: devnet.deployment.safe!, abi: safeAbi, functionName: "nonce" }),
      nonce,
    );

    const again = await project.preview();
    assert.ok(isNoChange(again), again.stdout);
    assert.match(again.output, /in flight: proposal \S+ \(Safe nonce 0\) is awaiting signatures \(1 of 2\)/);
    const rerun = await project.up();
    assert.equal(rerun.code, 0);
    assert.equal(project.proposalFiles().length, 3, "a rerun never duplicates a proposal");
  });

  it("k signatures, Safe execution, time warp, then up executes the ready batch: preview is empty", async () => {
    const p = await latestProposal();
    await signAndExecuteSafe(p);
    const queued = await project.preview();
    assert.ok(isNoChange(queued), queued.stdout);
    assert.match(queued.output, /queued in the timelock until/);
    await devnet.warp(DEVNET_TIMELOCK_DELAY);
    const ready = await project.preview();
    assert.match(ready.output, /ready to execute/);
    const up = await project.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.equal(
      await imageAllowed(config.kms.osImages.at(-1) as Hex),
      true,
      "the executor key ran the timelock batch",
    );
    const after = await project.preview();
    assert.ok(isNoChange(after), after.stdout);
    assert.doesNotMatch(after.output, /in flight/);
  });

  it("a change behind Pulumi's back shows in preview and in refresh", async () => {
    const rogue = devMeasurement("rogue-os");
    await sendAsImpersonated(
      devnet,
      devnet.deployment.timelock!,
      devnet.deployment.kms.proxy,
      encodeFunctionData({ abi: dstackKmsAbi, functionName: "addOsImageHash", args: [rogue] }),
    );
    const preview = await project.preview();
    assert.match(preview.output, new RegExp(`KMS: revoke OS image ${rogue}`));
    const refresh = await project.run("refresh", "--yes", "--diff");
    assert.equal(refresh.code, 0, refresh.stderr);
    assert.match(refresh.output, new RegExp(rogue.slice(2, 20)));
  });

  it("emergency revocation is marked as such and still waits out the timelock", async () => {
    const up = await project.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const p = await latestProposal();
    assert.equal(p.emergency, true);
    assert.match(p.calls.map((c) => c.description).join(), /revoke OS image/);
    await signAndExecuteSafe(p);
    assert.equal((await proposalStatus(client, p)).state, "scheduled");
    const early = await project.up();
    assert.equal(early.code, 0);
    assert.equal(await imageAllowed(devMeasurement("rogue-os")), true, "nothing skips the timelock");
    await devnet.warp(DEVNET_TIMELOCK_DELAY);
    assert.equal((await project.up()).code, 0);
    assert.equal(await imageAllowed(devMeasurement("rogue-os")), false);
    assert.ok(isNoChange(await project.preview()));
  });

  it("config edited while a proposal is in flight: one superseding proposal at the same nonce", async () => {
    const first = devMeasurement("app-one-compose-v3");
    config.apps![0].composeHashes = [...config.apps![0].composeHashes, first];
    await project.configure(config);
    assert.equal((await project.up()).code, 0);
    const p1 = await latestProposal();
    const second = devMeasurement("app-one-compose-v4");
    config.apps![0].composeHashes = [...config.apps![0].composeHashes, second];
    await project.configure(config);
    const preview = await project.preview();
    assert.match(preview.output, new RegExp(second));
    assert.equal((await project.up()).code, 0);
    const proposals = await listProposals(project.dir, "devnet");
    const p2 = proposals.find((p) => p.id !== p1.id && p.safe.nonce === p1.safe.nonce)!;
    assert.ok(p2, "the new proposal reuses the in-flight nonce");
    assert.equal(p2.calls.length, 2);
    await signAndExecuteSafe(p2);
    assert.equal((await proposalStatus(client, p1)).state, "superseded");
    await devnet.warp(DEVNET_TIMELOCK_DELAY);
    assert.equal((await project.up()).code, 0);
    assert.ok(isNoChange(await project.preview()));
  });

  it("a scheduled proposal left past its expiration: its change reappears", async () => {
    config.kms.devices = [...config.kms.devices!, devMeasurement("kms-device-2")];
    await project.configure(config);
    assert.equal((await project.up()).code, 0);
    const p = await latestProposal();
    await signAndExecuteSafe(p);
    await devnet.warp(DEVNET_TIMELOCK_DELAY + DEVNET_TIMELOCK_EXPIRATION + 1n);
    assert.equal((await proposalStatus(client, p)).state, "expired");
    const preview = await project.preview();
    assert.match(preview.output, /KMS: authorize KMS device/);
  });

  it("proxy upgrade, Safe signer swap and threshold, timelock delay: one proposal, applied", async () => {
    // Re-propose the expired change together with the new ones; the expired operation is cancelled.
    config.apps![1].implementation = devnet.deployment.appV2Implementation;
    if (config.governance.mode !== "safe+timelock") throw new Error("unexpected mode");
    config.governance.safe.owners = config.governance.safe.owners.map((o) =>
      o.address === owner3.address ? { address: devAccounts.spareOwners[0].address, org: "operator-c" } : o,
    );
    config.governance.safe.threshold = 3;
    config.governance.timelock.delay = "2h";
    await project.configure(config);
    const preview = await project.preview();
    for (const text of [
      /app-two: upgrade implementation/,
      /Safe: replace signer/,
      /Safe: threshold 2 → 3/,
      /Timelock: delay 1h → 2h/,
      /KMS: authorize KMS device/,
    ])
      assert.match(preview.output, text);
    assert.equal((await project.up()).code, 0);
    const p = await latestProposal();
    assert.equal(p.timelock!.cancels.length, 1, "the expired operation is cancelled, not left dangling");
    await signAndExecuteSafe(p);
    await devnet.warp(DEVNET_TIMELOCK_DELAY);
    assert.equal((await project.up()).code, 0);
    assert.equal(
      await client.readContract({
        address: devnet.deployment.timelock!,
        abi: timelockAbi,
        functionName: "getMinDelay",
      }),
      7200n,
    );
    assert.equal(
      await client.readContract({ address: devnet.deployment.safe!, abi: safeAbi, functionName: "getThreshold" }),
      3n,
    );
    const after = await project.preview();
    assert.ok(isNoChange(after), after.stdout);
  });

  it("keys never reach the state, the files or the output in plaintext", async () => {
    const exported = await project.run("stack", "export");
    const files = await listProposals(project.dir, "devnet");
    const haystack = exported.stdout + JSON.stringify(files);
    for (const key of [owner1.privateKey, devAccounts.executor.privateKey]) {
      assert.equal(haystack.includes(key.slice(2)), false);
    }
  });
});
