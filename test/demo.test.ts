import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { it } from "node:test";

it("npm run demo: the whole lifecycle on a devnet, exit 0, no process left behind", () => {
  const anvilsBefore = spawnSync("pgrep", ["-c", "-x", "anvil"], { encoding: "utf8" }).stdout.trim();
  const demo = spawnSync(process.execPath, [join(__dirname, "..", "devnet", "demo.js")], {
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(demo.status, 0, demo.stdout + demo.stderr);
  const out = demo.stdout;
  assert.match(out, /pulumi preview --diff[\s\S]*KMS: authorize OS image 0x[0-9a-f]{64}/);
  assert.match(out, /signed proposal \S+ as 0x[0-9a-fA-F]{40}: 2 of 2 signatures/);
  assert.match(out, /now queued in the timelock until/);
  assert.match(out, /executed timelock operation 0x[0-9a-f]{64}/);
  assert.match(out, /0 unexplained/);
  assert.match(out, /demo finished/);
  assert.equal(
    spawnSync("pgrep", ["-c", "-x", "anvil"], { encoding: "utf8" }).stdout.trim(),
    anvilsBefore,
    "the demo stops its chain",
  );
});
