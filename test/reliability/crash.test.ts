import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import { listProposals } from "../../src/proposal/files";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { PulumiProject } from "../helpers/pulumi-project";
import { cloneProject, killTree, proposalBytes, startPulumi, waitFor } from "./harness";

const UP = ["up", "--yes", "--skip-preview"];

type PendingOperation = { resource: { urn: string }; type: string };

async function pendingOperations(project: PulumiProject): Promise<PendingOperation[]> {
  const exported = await project.run("stack", "export");
  assert.equal(exported.code, 0, exported.output);
  return (
    (JSON.parse(exported.stdout) as { deployment: { pending_operations?: PendingOperation[] } }).deployment
      .pending_operations ?? []
  );
}

describe("crash safety: pulumi up killed (SIGKILL) at each write point", () => {
  let devnet: TestDevnet;
  /** An adopted stack with one change pending; every run starts from a copy of it. */
  let template: PulumiProject;
  /** What an uninterrupted `up` writes from that same starting point. */
  let reference: Map<string, string>;
  let proposalId: string;

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    template = new PulumiProject();
    const config = devnet.config();
    await template.configure(config, { proposerKey: devAccounts.safeOwners[0].privateKey });
    assert.equal((await template.up()).code, 0);
    config.kms.osImages = [...config.kms.osImages, devMeasurement("crash-os")];
    await template.configure(config);

    const uninterrupted = cloneProject(template);
    const up = await uninterrupted.up();
    assert.equal(up.code, 0, up.output);
    reference = proposalBytes(uninterrupted);
    assert.equal(reference.size, 3);
    proposalId = [...reference.keys()][0].split(".")[0];
  });
  after(() => devnet.stop());

  /** The rerun's result: exactly the uninterrupted run's files (no duplicate, no partial, no temp file). */
  async function assertSameAsUninterrupted(project: PulumiProject): Promise<void> {
    assert.deepEqual(proposalBytes(project), reference);
    assert.deepEqual(
      (await listProposals(project.dir, project.stack)).map((p) => p.id),
      [proposalId],
    );
  }

  it("killed before the proposal files: nothing written; the rerun writes the proposal", async () => {
    const project = cloneProject(template);
    const crashed = await startPulumi(project, UP, { GOV_CRASH_AT: "before-proposal-files" }).done;
    assert.notEqual(crashed.code, 0);
    assert.match(crashed.output, /error reading from server: EOF/, "the provider process died");
    assert.deepEqual(project.proposalFiles(), []);
    assert.equal((await project.up()).code, 0);
    await assertSameAsUninterrupted(project);
  });

  it("killed with the files half renamed: no proposal exists (its .json goes last); the rerun completes the same set", async () => {
    const project = cloneProject(template);
    const crashed = await startPulumi(project, UP, { GOV_CRASH_AT: "mid-write" }).done;
    assert.notEqual(crashed.code, 0);
    const left = project.proposalFiles();
    assert.ok(left.includes(`${proposalId}.txbuilder.json`), left.join(", "));
    assert.ok(!left.includes(`${proposalId}.json`), "the file that makes a proposal exist is not there yet");
    assert.ok(
      left.some((name) => name.endsWith(".tmp")),
      "the crashed writer left its staged files",
    );
    assert.deepEqual(await listProposals(project.dir, project.stack), []);
    assert.equal((await project.up()).code, 0);
    await assertSameAsUninterrupted(project);
  });

  it("killed after the proposal files: the rerun finds the proposal in flight and writes nothing new", async () => {
    const project = cloneProject(template);
    const crashed = await startPulumi(project, UP, { GOV_CRASH_AT: "after-proposal-files" }).done;
    assert.notEqual(crashed.code, 0);
    assert.deepEqual(proposalBytes(project), reference, "the files were complete before the kill");
    const rerun = await project.up();
    assert.equal(rerun.code, 0, rerun.output);
    assert.match(rerun.output, /in flight: proposal /);
    await assertSameAsUninterrupted(project);
  });

  it("pulumi itself killed after the provider wrote the files, before the state is saved: cancel, up, one proposal", async () => {
    const project = cloneProject(template);
    // The provider freezes right after writing, so its result never reaches the engine; then the whole CLI is killed.
    const run = startPulumi(project, UP, { GOV_CRASH_AT: "after-proposal-files", GOV_CRASH_SIGNAL: "SIGSTOP" });
    await waitFor(
      () => existsSync(join(project.dir, "proposals", project.stack, `${proposalId}.json`)),
      "the proposal files",
    );
    killTree(run.child.pid!);
    await run.done;
    assert.deepEqual(proposalBytes(project), reference);

    // What a user meets next, and does about it.
    const locked = await project.up();
    assert.notEqual(locked.code, 0);
    assert.match(locked.output, /the stack is currently locked by 1 lock\(s\)/);
    const pending = await pendingOperations(project);
    assert.deepEqual(
      pending.map((op) => [op.type, op.resource.urn.split("::").pop()]),
      [["updating", "proposal"]],
      "the state was never saved after the provider's work",
    );
    assert.equal((await project.run("cancel", "--yes")).code, 0);
    const rerun = await project.up();
    assert.equal(rerun.code, 0, rerun.output);
    assert.match(rerun.output, /1 pending operations from previous deployment/);
    assert.deepEqual(await pendingOperations(project), [], "the rerun cleared the interrupted operation");
    await assertSameAsUninterrupted(project);
  });
});
