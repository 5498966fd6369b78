import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { devMeasurement } from "../../devnet/deploy";
import type { StackConfigInput } from "../../src/config/schema";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { PulumiProject } from "../helpers/pulumi-project";

/** Past what Pulumi can hand a program in one environment variable (128 KiB: about 1,900 hashes). */
const ITEMS = 3_000;

describe(`a stack of ${ITEMS} OS images under the real CLI`, () => {
  let devnet: TestDevnet;
  let config: StackConfigInput;
  let added: string[];

  before(async () => {
    devnet = await startTestDevnet("direct");
    config = devnet.config();
    added = Array.from({ length: ITEMS }, (_, i) => devMeasurement(`large-set-${i}`));
  });
  after(() => devnet.stop());

  it("listed in Pulumi.<stack>.yaml, the program cannot start: Pulumi's own limit, named in the README", async () => {
    const project = new PulumiProject();
    await project.configure({ ...config, kms: { ...config.kms, osImages: [...config.kms.osImages, ...added] } });
    const preview = await project.preview();
    assert.notEqual(preview.code, 0);
    assert.match(preview.stdout + preview.stderr, /argument list too long/);
  });

  it("read from a hashesFile, preview runs and declares every one of them", async () => {
    const project = new PulumiProject();
    writeFileSync(join(project.dir, "os-images.txt"), [...config.kms.osImages, ...added].join("\n"));
    await project.configure({ ...config, kms: { ...config.kms, osImages: { hashesFile: "os-images.txt" } as never } });
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.stdout + preview.stderr);
    // A first preview creates the stack's resources: the KMS policy declares the file's first and last hash.
    for (const hash of [added[0], added[ITEMS - 1]]) assert.ok(preview.stdout.includes(hash), hash);
  });
});
