import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sha256, toHex } from "viem";
import { inspectStack } from "../src/reconcile/reconcile";
import { openStack } from "../src/reconcile/stack";
import { startTestDevnet, type TestDevnet } from "./helpers/devnet";

describe("measurements from artifacts", () => {
  let devnet: TestDevnet;
  let root: string;
  // Exactly the bytes dstack measures: whitespace and key order matter.
  const compose =
    '{"manifest_version":2,"name":"app-one","runner":"docker-compose","docker_compose_file":"services: {}\\n"}';
  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    root = mkdtempSync(join(tmpdir(), "gov-measure-"));
    writeFileSync(join(root, "app-compose.json"), compose);
  });
  after(() => devnet.stop());

  it("a compose hash given as { sha256Of: app-compose.json } is the sha256 of the file's exact bytes", async () => {
    const config = devnet.config() as { apps: { composeHashes: unknown[] }[] };
    config.apps[0].composeHashes.push({ sha256Of: "app-compose.json" });
    const stack = await openStack({ name: "devnet", root, rawConfig: config });
    const expected = sha256(toHex(compose));
    assert.equal(stack.config.apps[0].composeHashes.at(-1), expected);
    const inspection = await inspectStack(stack);
    assert.deepEqual(
      inspection.calls.map((c) => c.description),
      [`app-one: authorize compose hash ${expected}`],
    );
  });

  it("a missing artifact names the field and the fix", async () => {
    const config = devnet.config() as { kms: { osImages: unknown[] } };
    config.kms.osImages.push({ sha256Of: "images/missing/sha256sum.txt" });
    await assert.rejects(
      openStack({ name: "devnet", root, rawConfig: config }),
      /kms\.osImages\[2\]\.sha256Of: cannot read .*sha256sum\.txt; give a path relative to the project directory, or the hash itself/,
    );
  });
});
