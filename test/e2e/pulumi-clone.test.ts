import assert from "node:assert/strict";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hex, PublicClient } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { DEVNET_TIMELOCK_DELAY, devMeasurement } from "../../devnet/deploy";
import { approveProposal, executeSafeTransaction, executeTimelockBatch } from "../../src/proposal/execute";
import { listProposals, readProposalDirectory } from "../../src/proposal/files";
import { runGov } from "../cli/harness";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { isNoChange, PulumiProject } from "../helpers/pulumi-project";
import { osImageAllowed } from "../helpers/kms-reads";

const [owner1, owner2] = devAccounts.safeOwners;

describe("a second clone without proposals/<stack>/ (real CLI): a queued change is recognised from the chain", () => {
  let devnet: TestDevnet;
  let client: PublicClient;
  let first: PulumiProject;
  let clone: PulumiProject;
  let operationId: Hex;
  const hash = devMeasurement("dstack-os-clone");

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    client = devnet.client;
    first = new PulumiProject();
    const config = devnet.config();
    config.kms.osImages = [...config.kms.osImages, hash];
    await first.configure(config, { proposerKey: owner1.privateKey });
    const up = await first.up();
    assert.equal(up.code, 0, up.output);
    assert.equal(first.proposalFiles().length, 3, up.output);
    // The Safe executes the proposal: its batch is now scheduled in the timelock.
    const listed = await readProposalDirectory(first.dir, "devnet");
    assert.deepEqual(listed.unreadable, []);
    const [proposal] = listed.proposals;
    await approveProposal(client, devnet.wallet(owner2.privateKey), proposal);
    await executeSafeTransaction(client, devnet.wallet(devAccounts.executor.privateKey), proposal);
    operationId = proposal.timelock!.operationId;
    // The clone: the whole project (stack file, checkpoints, state) but not proposals/devnet/.
    const dir = mkdtempSync(join(tmpdir(), "gov-clone-"));
    cpSync(first.dir, dir, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (path) => relative(first.dir, path) !== join("proposals", "devnet"),
    });
    clone = new PulumiProject("devnet", dir);
  });
  after(() => devnet.stop());

  const audit = (...flags: string[]) => runGov(["audit", ...flags, "--stack", "devnet", "--root", clone.dir]);

  it("preview proposes nothing and names the queued operation; up writes no proposal", async () => {
    assert.deepEqual(clone.proposalFiles(), []);
    const preview = await clone.preview();
    assert.ok(isNoChange(preview), preview.output);
    assert.doesNotMatch(preview.output, /pending: KMS: authorize OS image/);
    assert.ok(preview.output.includes(`in flight (from the chain): timelock operation ${operationId}`), preview.output);
    assert.match(preview.output, /restore it from git/);
    const up = await clone.up();
    assert.equal(up.code, 0, up.output);
    assert.deepEqual(clone.proposalFiles(), [], "the clone proposed the queued change again");
  });

  it("gov audit: a foreign operation and, once executed, an unexplained change without the files; clean once restored", async () => {
    const foreign = await audit("--check");
    assert.equal(foreign.code, 1, foreign.stdout);
    assert.ok(foreign.stdout.includes(`FOREIGN OPERATION ${operationId}`), foreign.stdout);

    await devnet.warp(DEVNET_TIMELOCK_DELAY);
    const [proposal] = await listProposals(first.dir, "devnet");
    await executeTimelockBatch(client, devnet.wallet(devAccounts.executor.privateKey), proposal);
    assert.equal(await osImageAllowed(client, devnet.deployment.kms.proxy, hash), true);
    const without = await audit();
    assert.match(without.stdout, /, [1-9]\d* unexplained/, without.stdout);
    assert.match(without.stdout, /UNEXPLAINED.*OsImageHashAdded/);

    cpSync(join(first.dir, "proposals", "devnet"), join(clone.dir, "proposals", "devnet"), { recursive: true });
    const restored = await audit();
    assert.match(restored.stdout, /, 0 unexplained/, restored.stdout);
    assert.ok(restored.stdout.includes(`proposal ${proposal.id}`), restored.stdout);
    // The third owner did not sign this one proposal: participation is not what this test is about.
    const check = await audit("--check", "--min-participation", "0");
    assert.equal(check.code, 0, check.stdout);
    assert.match(check.stdout, /clean$/m);
  });
});
