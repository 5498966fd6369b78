/**
 * The newer upstream shape (dstack main: two-step ownership, PolicyChanged) governed with the real
 * pulumi CLI: the timelock accepts the hand-over, a contract moves on from the timelock to the Safe
 * (transfer, then the Safe's accept in a second proposal), an app created locked is refused an
 * upgrade at preview, and drift in requireTcbUpToDate and a foreign pending owner show up.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  decodeEventLog,
  encodeFunctionData,
  getAbiItem,
  zeroAddress,
  zeroHash,
  type Address,
  type PublicClient,
} from "viem";
import { loadArtifact } from "../../contracts/artifacts";
import { devAccounts } from "../../devnet/accounts";
import { DEVNET_TIMELOCK_DELAY, devMeasurement } from "../../devnet/deploy";
import { dstackAppAbi, dstackAppTcbAbi, dstackKmsAbi, ownable2StepAbi } from "../../src/chain/abis";
import type { StackConfigInput } from "../../src/config/schema";
import { readStackFile } from "../../src/config/stack-file";
import { inspectStack } from "../../src/reconcile/reconcile";
import { openStack } from "../../src/reconcile/stack";
import { ACCEPT_FOLLOW_UP } from "../../src/plan/plan";
import { approveProposal, executeSafeTransaction } from "../../src/proposal/execute";
import { listProposals } from "../../src/proposal/files";
import type { ProposalFile } from "../../src/proposal/types";
import { runGov } from "../cli/harness";
import { sendAsImpersonated, startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { isNoChange, PulumiProject } from "../helpers/pulumi-project";

const [owner1, owner2] = devAccounts.safeOwners;

describe("dstack main shape (two-step ownership) on a safe+timelock devnet (real CLI)", () => {
  let devnet: TestDevnet;
  let project: PulumiProject;
  let config: StackConfigInput;
  let client: PublicClient;
  let timelock: Address;
  let safe: Address;

  before(async () => {
    devnet = await startTestDevnet("safe+timelock", { contracts: "two-step" });
    client = devnet.client;
    timelock = devnet.deployment.timelock!;
    safe = devnet.deployment.safe!;
    project = new PulumiProject();
    config = devnet.config();
    await project.configure(config, { proposerKey: owner1.privateKey, executorKey: devAccounts.executor.privateKey });
  });
  after(() => devnet?.stop());

  const ownerOf = (proxy: Address) => client.readContract({ address: proxy, abi: dstackAppAbi, functionName: "owner" });
  const pendingOwnerOf = (proxy: Address) =>
    client.readContract({ address: proxy, abi: ownable2StepAbi, functionName: "pendingOwner" });
  const latestProposal = async (): Promise<ProposalFile> => (await listProposals(project.dir, "devnet")).at(-1)!;
  const packet = (p: ProposalFile) => readFileSync(join(project.dir, "proposals", "devnet", `${p.id}.md`), "utf8");
  /** k = 2 of 3: the proposer's file signature plus one on-chain approval, then the Safe executes. */
  async function signAndExecuteSafe(p: ProposalFile) {
    await approveProposal(client, devnet.wallet(owner2.privateKey), p);
    await executeSafeTransaction(client, devnet.wallet(devAccounts.executor.privateKey), p);
  }
  /** up writes a proposal; k signers and the Safe execute it; after the delay the next up runs the timelock batch. */
  async function proposeAndRun(): Promise<ProposalFile> {
    const up = await project.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const p = await latestProposal();
    await signAndExecuteSafe(p);
    if (p.timelock?.targets.length) {
      await devnet.warp(DEVNET_TIMELOCK_DELAY);
      const execute = await project.up();
      assert.equal(execute.code, 0, execute.stdout + execute.stderr);
    }
    return p;
  }

  it("the deployer's hand-over is pending: the timelock accepts through one proposal, then preview is empty", async () => {
    const proxies = [devnet.deployment.kms.proxy, ...devnet.deployment.apps.map((a) => a.proxy)];
    for (const proxy of proxies) assert.equal(await pendingOwnerOf(proxy), timelock);
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.stderr);
    assert.match(preview.output, new RegExp(`KMS: ${timelock} accepts ownership from ${devAccounts.deployer.address}`));
    assert.match(preview.output, new RegExp(`app-two: ${timelock} accepts ownership from`));

    // gov import of this deployment declares the pending hand-over's destination: its first plan has the accepts.
    const d = devnet.deployment;
    const imported = mkdtempSync(join(tmpdir(), "gov-import-two-step-"));
    const location = [
      ["--rpc", d.rpcUrl, "--chain-id", String(d.chainId), "--kms", d.kms.proxy],
      ...d.apps.map((app) => ["--app", `${app.name}=${app.proxy}`]),
      [
        "--mode",
        "safe+timelock",
        "--safe",
        safe,
        "--timelock",
        timelock,
        "--tier",
        "non-production",
        "--start-block",
        String(d.deployBlock),
      ],
    ].flat();
    const run = await runGov(["import", "--stack", "imported", "--root", imported, ...location]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(
      run.stdout.includes(`  - KMS: ${timelock} accepts ownership from ${devAccounts.deployer.address}`),
      run.stdout,
    );
    const importedConfig = readStackFile(imported, "imported") as {
      apps: { requireTcbUpToDate?: boolean; owner?: string }[];
    };
    assert.deepEqual(
      importedConfig.apps.map((a) => [a.requireTcbUpToDate, a.owner]),
      d.apps.map(() => [true, undefined]),
      "TCB flag imported; owner left to the default, where the hand-over goes",
    );
    const importedStack = await openStack({ name: "imported", root: imported, rawConfig: importedConfig });
    assert.deepEqual(
      (await inspectStack(importedStack)).calls.map((c) => c.functionName),
      proxies.map(() => "acceptOwnership"),
    );

    const p = await proposeAndRun();
    assert.equal(p.route, "safe+timelock");
    assert.deepEqual(
      p.calls.map((c) => `${c.functionName} by ${c.sender}`),
      proxies.map(() => `acceptOwnership by ${timelock}`),
    );
    for (const proxy of proxies) {
      assert.equal(await ownerOf(proxy), timelock);
      assert.equal(await pendingOwnerOf(proxy), zeroAddress);
    }
    const after = await project.preview();
    assert.ok(isNoChange(after), after.stdout + after.stderr);
  });

  it("timelock → Safe: the transfer, then the Safe's acceptOwnership as a second proposal; the proof and the packet account for it", async () => {
    const app = devnet.deployment.apps[1];
    config.apps![1].owner = safe;
    await project.configure(config);
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.stderr);
    // Pulumi cuts long strings in its diff: the whole sentence is checked in the proposal and its packet.
    assert.ok(
      preview.output.includes(`app-two: transfer ownership ${timelock} → ${safe}; then the new owner must accept`),
      preview.output,
    );

    const transfer = await proposeAndRun();
    // The file's text is derived from the calldata; the follow-up is part of the call's before → after.
    assert.deepEqual(
      transfer.calls.map((c) => [c.description, c.change]),
      [
        [
          `app-two: transfer ownership to ${safe}`,
          `owner ${timelock} stays, pending owner → ${safe}; ${ACCEPT_FOLLOW_UP}`,
        ],
      ],
    );
    assert.ok(packet(transfer).includes(ACCEPT_FOLLOW_UP), "the packet tells signers a second proposal follows");
    assert.ok(
      transfer.convergence?.steps.some((s) =>
        s.includes(`ran the follow-up the new owner proposes next (impersonated): app-two: ${safe} accepts ownership`),
      ),
      JSON.stringify(transfer.convergence),
    );
    assert.equal(await ownerOf(app.proxy), timelock, "two-step: the timelock still owns it");
    assert.equal(await pendingOwnerOf(app.proxy), safe);

    // The up that executed the transfer went on to propose what is next: the Safe's accept.
    const accept = await latestProposal();
    assert.notEqual(accept.id, transfer.id);
    assert.equal(accept.route, "safe", "the Safe accepts itself: no timelock step");
    assert.deepEqual(
      accept.calls.map((c) => `${c.description} (${c.functionName} by ${c.sender})`),
      [`app-two: ${safe} accepts ownership (acceptOwnership by ${safe})`],
    );
    const next = await project.preview();
    assert.match(
      next.output,
      new RegExp(`in flight: proposal ${accept.id} \\(Safe nonce \\d+\\) is awaiting signatures`),
    );
    await signAndExecuteSafe(accept);
    assert.equal(await ownerOf(app.proxy), safe);
    const after = await project.preview();
    assert.ok(isNoChange(after), after.stdout + after.stderr);
  });

  it("an app created locked (disableUpgrades in its initializer, no event): an upgrade is refused at preview naming the rule", async () => {
    // deployAndRegisterApp is open to anyone: an outsider creates it, owned by the timelock.
    const outsider = devnet.wallet(devAccounts.outsider.privateKey);
    const data = encodeFunctionData({
      abi: loadArtifact("DstackKmsTwoStep").abi,
      functionName: "deployAndRegisterApp",
      args: [timelock, true, false, false, zeroHash, devMeasurement("locked-compose")],
    });
    const hash = await outsider.sendTransaction({
      account: outsider.account!,
      chain: outsider.chain,
      to: devnet.deployment.kms.proxy,
      data,
    });
    const receipt = await client.waitForTransactionReceipt({ hash });
    const created = receipt.logs.map((log) => {
      try {
        return decodeEventLog({ abi: [...dstackKmsAbi, ...dstackAppAbi], data: log.data, topics: log.topics });
      } catch {
        return undefined;
      }
    });
    const appId = (created.find((e) => e?.eventName === "AppDeployedViaFactory")!.args as { appId: Address }).appId;
    assert.ok(
      !created.some((e) => e?.eventName === "UpgradesDisabled"),
      "no UpgradesDisabled event: only the storage flag says it",
    );
    const upgradesDisabledEvent = getAbiItem({ abi: dstackAppAbi, name: "UpgradesDisabled" });
    assert.deepEqual(await client.getLogs({ address: appId, event: upgradesDisabledEvent, fromBlock: 0n }), []);

    const locked = structuredClone(config);
    locked.apps!.push({
      name: "locked",
      proxy: appId,
      composeHashes: [devMeasurement("locked-compose")],
      implementation: devnet.deployment.appV2Implementation,
    });
    await project.configure(locked);
    const filesBefore = project.proposalFiles();
    const preview = await project.preview();
    assert.notEqual(preview.code, 0);
    assert.match(
      preview.output,
      /apps\[2\]\.implementation: app locked has upgrades permanently disabled.*\[upgrade\.disabled\]/,
    );
    assert.deepEqual(project.proposalFiles(), filesBefore, "nothing written");
    await project.configure(config);
  });

  it("requireTcbUpToDate flipped and a transfer started behind the tool's back: preview shows both, gov audit flags them", async () => {
    const appOne = devnet.deployment.apps[0].proxy;
    await sendAsImpersonated(
      devnet,
      timelock,
      appOne,
      encodeFunctionData({ abi: dstackAppTcbAbi, functionName: "setRequireTcbUpToDate", args: [false] }),
    );
    await sendAsImpersonated(
      devnet,
      timelock,
      appOne,
      encodeFunctionData({
        abi: dstackAppAbi,
        functionName: "transferOwnership",
        args: [devAccounts.outsider.address],
      }),
    );
    assert.equal(await ownerOf(appOne), timelock);

    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.stderr);
    assert.match(preview.output, /app-one: require an up-to-date TCB false → true/);
    assert.ok(
      preview.output.includes(
        `app-one: cancel the pending ownership transfer to ${devAccounts.outsider.address} (not this stack's owner)`,
      ),
      preview.output,
    );

    const audit = await runGov(["audit", "--stack", "devnet", "--root", project.dir]);
    assert.equal(audit.code, 0, audit.stderr);
    const unexplained = audit.stdout.split("\n").filter((line) => line.includes("UNEXPLAINED"));
    assert.ok(
      unexplained.some((line) => line.includes("RequireTcbUpToDateSet(requireUpToDate=false)")),
      audit.stdout,
    );
    assert.ok(
      unexplained.some((line) =>
        line.includes(`OwnershipTransferStarted(previousOwner=${timelock}, newOwner=${devAccounts.outsider.address})`),
      ),
      audit.stdout,
    );
    assert.ok(
      unexplained.some((line) => line.includes("PolicyChanged(") && line.includes("policy=require-tcb-up-to-date")),
      audit.stdout,
    );
  });
});
