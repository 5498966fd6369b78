import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { zeroAddress } from "viem";
import { devMeasurement } from "../../devnet/deploy";
import type { StackConfigInput } from "../../src/config/schema";
import type { TestDevnet } from "../helpers/devnet";
import { adoptChain, startE2eStack } from "../helpers/e2e-stack";
import type { PulumiProject } from "../helpers/pulumi-project";

/**
 * The recorded resources of the stack (what the next preview diffs against), by URN. Pulumi's own
 * bookkeeping is left out: the order of the list (the order its steps finished in) and the call stack
 * of each registration (the component and the provider run before the proposal, as in any run, and
 * their stack traces differ by an async frame from run to run).
 */
async function recordedResources(project: PulumiProject): Promise<Record<string, unknown>> {
  const exported = await project.run("stack", "export");
  assert.equal(exported.code, 0, exported.stderr);
  const { resources = [] } = (
    JSON.parse(exported.stdout) as { deployment: { resources?: { urn: string; stackTrace?: unknown }[] } }
  ).deployment;
  return Object.fromEntries(resources.map(({ stackTrace: _, ...r }) => [r.urn, r]));
}

describe("a failed pulumi up leaves the Pulumi state as it was (real CLI)", () => {
  let devnet: TestDevnet;
  let project: PulumiProject;
  let config: StackConfigInput;
  before(async () => {
    ({ devnet, project, config } = await startE2eStack());
    await adoptChain(project);
  });
  after(() => devnet.stop());

  it("the zero address as a Safe owner is refused at preview, naming the field", async () => {
    const bad = devnet.config();
    const governance = bad.governance as Extract<StackConfigInput["governance"], { mode: "safe+timelock" }>;
    governance.safe.owners[2] = { address: zeroAddress, org: "operator-b" };
    await project.configure(bad);
    const preview = await project.preview();
    assert.notEqual(preview.code, 0);
    assert.match(
      preview.output,
      /governance\.safe\.owners\[2\]\.address: 0x0{40} is not a possible owner: the zero address cannot sign/,
    );
    assert.deepEqual(project.proposalFiles(), []);
  });

  it("an up that fails while writing the proposal records nothing", async () => {
    const before = await recordedResources(project);
    config.kms.osImages = [...config.kms.osImages, devMeasurement("failed-up-os")];
    await project.configure(config);
    // proposals/devnet is a file, not a directory: the proposal cannot be written.
    mkdirSync(join(project.dir, "proposals"), { recursive: true });
    writeFileSync(join(project.dir, "proposals", "devnet"), "not a directory\n");
    const up = await project.up();
    assert.notEqual(up.code, 0, up.output);
    assert.match(up.output, /proposals\/devnet/);
    assert.deepEqual(await recordedResources(project), before, "every recorded resource is as it was");
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.output);
    assert.match(preview.output, /KMS: authorize OS image/, "the change is still pending");
  });
});
