import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import { devAccounts } from "../../devnet/accounts";
import {
  DEVNET_TIMELOCK_DELAY,
  DEVNET_TIMELOCK_EXPIRATION,
  devMeasurement,
  type OpenZeppelinMajor,
} from "../../devnet/deploy";
import { timelockAbi } from "../../src/chain/abis";
import { createChainClient } from "../../src/chain/client";
import { TIMELOCK_ROLES } from "../../src/chain/read-state";
import type { StackConfigInput } from "../../src/config/schema";
import { listProposals } from "../../src/proposal/files";
import { proposalStatus } from "../../src/proposal/status";
import type { ProposalFile } from "../../src/proposal/types";
import { runGov } from "../cli/harness";
import { sendAsImpersonated, startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { isNoChange, PulumiProject } from "../helpers/pulumi-project";
import { osImageAllowed } from "../helpers/kms-reads";

const [owner1, owner2] = devAccounts.safeOwners;
const TOOL_EXPIRY = /Expiry is enforced by this tool, not by the contract/;

/** A documented-topology devnet and its Pulumi project, and the steps every scenario on it takes. */
function documentedDevnet(openZeppelin: OpenZeppelinMajor) {
  const ctx = {} as { devnet: TestDevnet; project: PulumiProject; config: StackConfigInput; client: PublicClient };
  before(async () => {
    ctx.devnet = await startTestDevnet("documented", { openZeppelin });
    ctx.client = createChainClient({ chainId: ctx.devnet.anvil.chainId, rpcUrls: [ctx.devnet.anvil.rpcUrl] });
    ctx.project = new PulumiProject();
    ctx.config = ctx.devnet.config();
    await ctx.project.configure(ctx.config, { proposerKey: owner1.privateKey });
  });
  after(() => ctx.devnet?.stop());

  const timelock = () => ctx.devnet.deployment.timelock!;
  const gov = (args: string[], key?: Hex) =>
    runGov([...args, "--stack", "devnet", "--root", ctx.project.dir], key ? { GOV_PRIVATE_KEY: key } : {});
  const newest = async (): Promise<ProposalFile> => (await listProposals(ctx.project.dir, "devnet")).at(-1)!;
  const packet = (p: ProposalFile) => readFileSync(join(ctx.project.dir, "proposals", "devnet", `${p.id}.md`), "utf8");

  /** The proposer signed in up; one more owner makes 2 of 3; anyone then sends the Safe transaction. */
  async function signAndExecuteSafe(p: ProposalFile, signers = [owner2]) {
    for (const signer of signers) assert.equal((await gov(["sign", p.id], signer.privateKey)).code, 0);
    const run = await gov(["execute", p.id], devAccounts.executor.privateKey);
    assert.equal(run.code, 0, run.stderr);
  }

  /** The Safe is the only executor: after the delay, pulumi up writes an execution proposal; k owners sign it; it runs the batch. */
  async function executeThroughSafe(p: ProposalFile) {
    await ctx.devnet.warp(DEVNET_TIMELOCK_DELAY);
    const up = await ctx.project.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const execution = await newest();
    assert.deepEqual(
      execution.executes && {
        proposalId: execution.executes.proposalId,
        operationId: execution.executes.operationId,
        by: execution.executes.expiryEnforcedBy,
      },
      { proposalId: p.id, operationId: p.timelock!.operationId, by: "tool" },
    );
    assert.deepEqual(
      execution.calls.map((c) => [c.functionName, c.to, c.sender]),
      [["executeBatch", timelock(), ctx.devnet.deployment.safe]],
    );
    assert.match(packet(execution), TOOL_EXPIRY);
    assert.equal(
      (await proposalStatus(ctx.client, p)).state,
      "ready",
      "writing the execution proposal executes nothing",
    );
    await signAndExecuteSafe(execution, [owner1, owner2]);
    assert.equal((await proposalStatus(ctx.client, p)).state, "executed");
  }

  /** The first up on a devnet that matches its config adopts it: nothing is proposed. */
  async function adopt() {
    const run = await ctx.project.up();
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(ctx.project.proposalFiles(), []);
  }

  return { ctx, timelock, gov, newest, packet, signAndExecuteSafe, executeThroughSafe, adopt };
}

/**
 * The setup Phala's deployment guide describes: Safe 1.3.0 (L2) → stock OpenZeppelin 5
 * TimelockController whose proposer, canceller and executor is the Safe → DstackKms + DstackApp.
 */
describe("documented topology: Safe 1.3.0 + stock OpenZeppelin TimelockController (real CLI)", () => {
  const { ctx, timelock, gov, newest, packet, signAndExecuteSafe, executeThroughSafe, adopt } = documentedDevnet(5);
  let devnet: TestDevnet;
  let project: PulumiProject;
  let config: StackConfigInput;
  let client: PublicClient;
  before(async () => {
    ({ devnet, project, config, client } = ctx);
    await adopt();
  });

  const imageAllowed = (hash: Hex) => osImageAllowed(client, devnet.deployment.kms.proxy, hash);
  const hasRole = (role: Hex, account: Address) =>
    client.readContract({ address: timelock(), abi: timelockAbi, functionName: "hasRole", args: [role, account] });

  it("preview → up → k signatures → Safe execution → delay → execution by the Safe → empty preview", async () => {
    const image = devMeasurement("documented-os-1");
    config.kms.osImages = [...config.kms.osImages, image];
    await project.configure(config);
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.stderr);
    assert.match(preview.output, new RegExp(`KMS: authorize OS image ${image}`));
    assert.match(
      preview.output,
      /is a stock OpenZeppelin TimelockController: its 3d expiration is enforced by this tool .*not by the contract/,
    );

    const up = await project.up();
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const p = await newest();
    assert.equal(p.safe.version, "1.3.0");
    assert.deepEqual(
      { by: p.timelock!.expiryEnforcedBy, window: p.timelock!.expiration },
      { by: "tool", window: String(DEVNET_TIMELOCK_EXPIRATION) },
    );
    assert.match(packet(p), TOOL_EXPIRY);

    await signAndExecuteSafe(p);
    assert.equal((await proposalStatus(client, p)).state, "scheduled");
    // An EOA cannot run the batch: only the Safe holds the executor role.
    const byKey = await gov(["execute", p.id], devAccounts.executor.privateKey);
    assert.equal(byKey.code, 1);
    assert.match(byKey.stderr, /waits in the timelock until/);

    await executeThroughSafe(p);
    assert.equal(await imageAllowed(image), true);
    const after = await project.preview();
    assert.ok(isNoChange(after), after.stdout);
    assert.doesNotMatch(after.output, /in flight/);
  });

  it("an extra proposer granted behind the tool's back shows in preview and the next proposal revokes it", async () => {
    const outsider = devAccounts.spareOwners[0].address;
    await sendAsImpersonated(
      devnet,
      timelock(),
      timelock(),
      encodeFunctionData({ abi: timelockAbi, functionName: "grantRole", args: [TIMELOCK_ROLES.proposer, outsider] }),
    );
    const preview = await project.preview();
    assert.match(preview.output, new RegExp(`Timelock: revoke proposer role of ${outsider}`));

    assert.equal((await project.up()).code, 0);
    const p = await newest();
    assert.deepEqual(
      p.calls.map((c) => c.description),
      [`Timelock: revoke proposer role of ${outsider}`],
    );
    await signAndExecuteSafe(p);
    await executeThroughSafe(p);
    assert.equal(await hasRole(TIMELOCK_ROLES.proposer, outsider), false);
    assert.equal(await hasRole(TIMELOCK_ROLES.proposer, devnet.deployment.safe!), true);
    assert.ok(isNoChange(await project.preview()));
  });

  it("an operation past its tool-enforced expiration: gov execute refuses, preview shows the change again, the next proposal cancels it", async () => {
    const image = devMeasurement("documented-os-expired");
    config.kms.osImages = [...config.kms.osImages, image];
    await project.configure(config);
    assert.equal((await project.up()).code, 0);
    const p = await newest();
    await signAndExecuteSafe(p);
    await devnet.warp(DEVNET_TIMELOCK_DELAY + DEVNET_TIMELOCK_EXPIRATION + 1n);
    // On chain the stock timelock would still run it (the Safe is executor): the tool is what refuses.
    const onChain = await client.readContract({
      address: timelock(),
      abi: timelockAbi,
      functionName: "getOperationState",
      args: [p.timelock!.operationId],
    });
    assert.equal(onChain, 2, "Ready on chain");

    const block = await client.getBlockNumber();
    const run = await gov(["execute", p.id], devAccounts.executor.privateKey);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(
        `proposal ${p.id} expired at .* \\(expiry enforced by this tool: the stock timelock would still run it\\), it can only be cancelled`,
      ),
    );
    assert.equal(await client.getBlockNumber(), block, "nothing was sent or written on chain");

    const preview = await project.preview();
    assert.match(preview.output, new RegExp(`KMS: authorize OS image ${image}`));
    assert.doesNotMatch(preview.output, /in flight/);

    assert.equal((await project.up()).code, 0);
    const next = await newest();
    assert.notEqual(next.id, p.id);
    assert.deepEqual(next.timelock!.cancels, [p.timelock!.operationId]);
    await signAndExecuteSafe(next);
    assert.equal((await proposalStatus(client, p)).state, "cancelled");
    assert.equal(await imageAllowed(image), false);
    await executeThroughSafe(next);
    assert.equal(await imageAllowed(image), true);
    assert.ok(isNoChange(await project.preview()));
  });
});

/** OpenZeppelin 4.x (4.9.6 as its npm package ships it compiled): TIMELOCK_ADMIN_ROLE, no getOperationState. */
describe("documented topology on a stock OpenZeppelin 4.x TimelockController (real CLI)", () => {
  const { ctx, timelock, newest, signAndExecuteSafe, executeThroughSafe, adopt } = documentedDevnet(4);

  it("is detected (declared expiring, preview is refused naming the field); its delay change runs through the Safe", async () => {
    const { project, config, client } = ctx;
    const timelockConfig = (config.governance as { timelock: { kind?: string; delay: string } }).timelock;
    timelockConfig.kind = "expiring";
    await project.configure(config);
    const wrong = await project.preview();
    assert.notEqual(wrong.code, 0);
    assert.match(
      wrong.output,
      new RegExp(
        `governance.timelock.kind: the stack declares "expiring" but ${timelock()} is a stock OpenZeppelin TimelockController .*; set governance.timelock.kind: openzeppelin`,
      ),
    );
    assert.deepEqual(project.proposalFiles(), []);

    timelockConfig.kind = "openzeppelin";
    await project.configure(config);
    await adopt();
    const minDelay = () => client.readContract({ address: timelock(), abi: timelockAbi, functionName: "getMinDelay" });
    assert.equal(await minDelay(), DEVNET_TIMELOCK_DELAY);

    timelockConfig.delay = "2h";
    await project.configure(config);
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.stderr);
    assert.match(preview.output, /Timelock: delay 1h → 2h/);
    assert.match(
      preview.output,
      /is a stock OpenZeppelin TimelockController: its 3d expiration is enforced by this tool/,
    );

    assert.equal((await project.up()).code, 0);
    const p = await newest();
    assert.deepEqual(
      p.calls.map((c) => [c.functionName, c.to, c.sender]),
      [["updateDelay", timelock(), timelock()]],
    );
    await signAndExecuteSafe(p);
    await executeThroughSafe(p);
    assert.equal(await minDelay(), 7200n);
    const after = await project.preview();
    assert.ok(isNoChange(after), after.stdout);
  });
});
