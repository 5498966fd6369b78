import assert from "node:assert/strict";
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sha256, toHex } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import type { StackConfigInput } from "../../src/config/schema";
import { listProposals } from "../../src/proposal/files";
import { repoRoot } from "../../src/repo-root";
import type { TestDevnet } from "../helpers/devnet";
import { adoptChain, startE2eStack } from "../helpers/e2e-stack";
import type { PulumiProject } from "../helpers/pulumi-project";
import type { PulumiResult } from "../../devnet/pulumi-cli";

/** The item lines of `pulumi preview --diff` (`+ x`, `- x`, `~ x`), without the summary. */
function diffItems(result: PulumiResult, sign: "+" | "-" | "~"): string[] {
  const body = result.stdout.split("\nResources:")[0];
  return body.split("\n").filter((line) => line.trimStart().startsWith(`${sign} `));
}

/** Nothing to create, update, replace or delete, and no output that would change. */
function assertQuiet(result: PulumiResult) {
  assert.equal(result.code, 0, result.output);
  for (const sign of ["+", "-", "~"] as const) assert.deepEqual(diffItems(result, sign), [], result.stdout);
  assert.doesNotMatch(result.stdout, /unknown|to (create|update|replace|delete)|Outputs:/, result.stdout);
  assert.match(result.stdout, /unchanged/);
}

describe("Pulumi-native: measurements by command, a quiet and exact preview, no paths in state (real CLI)", () => {
  let devnet: TestDevnet;
  let project: PulumiProject;
  let config: StackConfigInput;
  const compose = (name: string) =>
    `{"manifest_version":2,"name":"${name}","runner":"docker-compose","docker_compose_file":"services: {}\\n"}`;
  const imageDigests = "9d2c0f3a  bzImage\n41be5c71  initramfs.cpio.gz\n";
  // Each run of the compose command leaves a line in runs.log: it must run only when its input changed.
  const composeCommand = "echo run >> runs.log && sha256sum app-compose.json | cut -d' ' -f1";
  const imageCommand = "sha256sum image/sha256sum.txt | cut -c1-64";
  const runs = () => readFileSync(join(project.dir, "runs.log"), "utf8").split("\n").filter(Boolean).length;

  before(async () => {
    ({ devnet, project, config } = await startE2eStack({ proposerKey: devAccounts.safeOwners[0].privateKey }));
    await adoptChain(project);
  });
  after(() => devnet.stop());

  it("in sync: preview prints no change of any kind, and no output diff", async () => {
    assertQuiet(await project.preview());
  });

  it("adding one hash and removing another prints exactly one + and one - item", async () => {
    const apps = config.apps!;
    const [removed, ...kept] = apps[0].composeHashes as string[];
    const added = devMeasurement("compose-v2");
    await project.configure({ ...config, apps: [{ ...apps[0], composeHashes: [added, ...kept] }, ...apps.slice(1)] });
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.output);
    assert.deepEqual(
      diffItems(preview, "+").map((line) => line.trim()),
      [`+ ${added}: true`],
      preview.stdout,
    );
    assert.deepEqual(
      diffItems(preview, "-").map((line) => line.trim()),
      [`- ${removed}: true`],
      preview.stdout,
    );
    await project.configure(config);
  });

  it("a compose hash and an OS image hash given by command reach the proposal, run once, and are recorded in state", async () => {
    writeFileSync(join(project.dir, "app-compose.json"), compose("app-v1"));
    mkdirSync(join(project.dir, "image"), { recursive: true });
    writeFileSync(join(project.dir, "image", "sha256sum.txt"), imageDigests);
    const composeHash = sha256(toHex(compose("app-v1")));
    const imageHash = sha256(toHex(imageDigests));
    const byCommand = structuredClone(config) as unknown as {
      kms: { osImages: unknown[] };
      apps: { composeHashes: unknown[] }[];
    };
    byCommand.apps[0].composeHashes.push({ command: composeCommand, inputs: ["app-compose.json"] });
    byCommand.kms.osImages.push({ command: imageCommand, inputs: ["image/sha256sum.txt"] });
    await project.configure(byCommand as unknown as StackConfigInput);

    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.output);
    assert.match(preview.output, new RegExp(`authorize compose hash ${composeHash}`));
    assert.match(preview.output, new RegExp(`authorize OS image ${imageHash}`));
    const up = await project.up();
    assert.equal(up.code, 0, up.output);
    const proposal = (await listProposals(project.dir, project.stack)).at(-1)!;
    const described = proposal.calls.map((c) => c.description).join("\n");
    assert.match(described, new RegExp(`authorize compose hash ${composeHash}`));
    assert.match(described, new RegExp(`authorize OS image ${imageHash}`));
    assert.equal(runs(), 2, "preview ran the new command once to show its hash, up ran it once to record it");

    assertQuiet(await project.preview());
    assert.equal(runs(), 2, "an unchanged input does not run the command again");

    const exported = await project.run("stack", "export");
    assert.equal(exported.code, 0, exported.output);
    const commands = (
      JSON.parse(exported.stdout) as { deployment: { resources: { type: string; outputs?: { stdout?: string } }[] } }
    ).deployment.resources.filter((r) => r.type === "command:local:Command");
    assert.deepEqual(
      commands.map((r) => r.outputs?.stdout?.trim()).sort(),
      [composeHash.slice(2), imageHash.slice(2)].sort(),
      "the printed hashes are in the state",
    );
    // Absolute paths only: Pulumi's source positions are project-relative URIs (project:///…).
    for (const path of new Set([repoRoot(), realpathSync(repoRoot()), project.dir, realpathSync(project.dir)])) {
      assert.doesNotMatch(
        exported.stdout,
        new RegExp(`["=]${path}|file://${path}`),
        `pulumi stack export contains ${path}`,
      );
    }
  });

  it("changing a command's input file changes the hash in the next preview", async () => {
    writeFileSync(join(project.dir, "app-compose.json"), compose("app-v2"));
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.output);
    const v2 = sha256(toHex(compose("app-v2")));
    assert.match(preview.output, new RegExp(`pending: .*authorize compose hash ${v2}`));
    assert.ok(
      diffItems(preview, "+").some((line) => line.includes(`${v2}: true`)),
      preview.stdout,
    );
  });

  it("a failing command fails preview, naming the field and showing the command's stderr", async () => {
    const failing = structuredClone(config) as unknown as { kms: { osImages: unknown[] } };
    failing.kms.osImages.push({
      command: "echo 'measure: image/bzImage: no such file' >&2; exit 3",
      inputs: ["image/sha256sum.txt"],
    });
    await project.configure(failing as unknown as StackConfigInput);
    const preview = await project.preview();
    assert.notEqual(preview.code, 0);
    const field = `kms.osImages[${config.kms.osImages.length}].command`;
    assert.match(preview.output, new RegExp(`${field.replace(/[[\].]/g, "\\$&")}: .*failed \\(exit status 3\\)`));
    assert.match(preview.output, /measure: image\/bzImage: no such file/);
  });
});
