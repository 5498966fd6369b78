import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import type { StackConfigInput } from "../../src/config/schema";
import { writeStackFile } from "../../src/config/stack-file";
import { listProposals, proposalDir } from "../../src/proposal/files";
import { inspectStack, proposeChanges } from "../../src/reconcile/reconcile";
import { openStack } from "../../src/reconcile/stack";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { PulumiProject } from "../helpers/pulumi-project";
import { proposalBytes, startPulumi } from "./harness";

const proposerKey = devAccounts.safeOwners[0].privateKey;

describe("concurrency: two runs of one stack at the same time never make two proposals", () => {
  let devnet: TestDevnet;
  let config: StackConfigInput;

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    config = devnet.config();
    config.kms.osImages = [...config.kms.osImages, devMeasurement("concurrent-os")];
  });
  after(() => devnet.stop());

  it("two pulumi up at once: the stack lock lets at most one through, ONE proposal results; a rerun keeps one", async () => {
    const project = new PulumiProject();
    await project.configure(config, { proposerKey });
    const runs = await Promise.all([
      startPulumi(project, ["up", "--yes", "--skip-preview"]).done,
      startPulumi(project, ["up", "--yes", "--skip-preview"]).done,
    ]);
    // Pulumi's file-backend lock writes its lock file, then re-checks: two runs never both proceed,
    // though two that start in the same instant may both back off.
    const succeeded = runs.filter((r) => r.code === 0);
    assert.ok(succeeded.length <= 1, runs.map((r) => r.output).join("\n----\n"));
    for (const refused of runs.filter((r) => r.code !== 0))
      assert.match(refused.output, /the stack is currently locked by 1 lock\(s\)/);
    const afterRace = proposalBytes(project);
    assert.equal(afterRace.size, 3 * succeeded.length, [...afterRace.keys()].join(", "));

    const rerun = await project.up();
    assert.equal(rerun.code, 0, rerun.output);
    assert.equal(proposalBytes(project).size, 3);
    assert.equal((await listProposals(project.dir, project.stack)).length, 1);
    if (succeeded.length === 1)
      assert.deepEqual(proposalBytes(project), afterRace, "the rerun sees the proposal in flight and writes nothing");
  });

  it("without a lock (two engine runs on one directory at once): both build the same proposal, so one set of files", async () => {
    // The proposal id and bytes are a function of config and chain, so racing writers cannot diverge.
    const root = mkdtempSync(join(tmpdir(), "gov-concurrent-"));
    writeStackFile(root, "devnet", config);
    const propose = async () => {
      const stack = await openStack({ name: "devnet", root, rawConfig: config });
      return proposeChanges(stack, await inspectStack(stack), proposerKey);
    };
    const [first, second] = await Promise.all([propose(), propose()]);
    assert.equal(first?.id, second?.id);
    const proposals = await listProposals(root, "devnet");
    assert.deepEqual(
      proposals.map((p) => p.id),
      [first!.id],
    );
    assert.deepEqual(
      readdirSync(proposalDir(root, "devnet")).sort(),
      [".json", ".md", ".txbuilder.json"].map((ext) => `${first!.id}${ext}`),
      "three files, no temp file left",
    );
  });
});
