import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { sha256, toHex } from "viem";
import {
  measurementCommands,
  measurementFromOutput,
  measurementInputDigests,
  resolveMeasurements,
} from "../src/measurements/resolve";

const root = mkdtempSync(join(tmpdir(), "gov-measure-cmd-"));
writeFileSync(join(root, "app-compose.json"), "{}");
const hashOfCompose = sha256(toHex("{}"));
const byCommand = (command: string, inputs: unknown = ["app-compose.json"]) => ({
  kms: { osImages: [] },
  apps: [{ name: "a", composeHashes: [`0x${"11".repeat(32)}`, { command, inputs }] }],
});
const field = "apps[0].composeHashes[1]";

it("lists each { command, inputs } measurement with the field it fills", () => {
  assert.deepEqual(measurementCommands(byCommand("sha256sum app-compose.json")), [
    { field, command: "sha256sum app-compose.json", inputs: ["app-compose.json"] },
  ]);
  assert.throws(
    () => measurementCommands(byCommand("x", [])),
    new RegExp(`${field.replace(/[[\].]/g, "\\$&")}\\.inputs: list the files`),
  );
  assert.throws(
    () => measurementCommands({ kms: { osImages: [{ command: "x", inputs: ["f"], cwd: "/" }] } }),
    /kms\.osImages\[0\]\.cwd: unknown key/,
  );
});

it("a command's stdout must be one 32-byte hash; anything else names the field and what it printed", () => {
  const m = { field, command: "c", inputs: [] };
  assert.equal(measurementFromOutput(m, `${"AB".repeat(32)}\n`), `0x${"ab".repeat(32)}`);
  assert.equal(measurementFromOutput(m, `0x${"cd".repeat(32)}`), `0x${"cd".repeat(32)}`);
  assert.throws(
    () => measurementFromOutput(m, `${"ab".repeat(32)}  app-compose.json\n`),
    /apps\[0\]\.composeHashes\[1\]\.command: `c` printed "ab.*app-compose\.json"; it must print one 32-byte hash/,
  );
  assert.throws(() => measurementFromOutput(m, ""), /printed ""/);
});

it("input files are hashed for the triggers; a missing one names the field", () => {
  const [m] = measurementCommands(byCommand("true", ["app-compose.json"]));
  assert.deepEqual(measurementInputDigests(m, root), [`app-compose.json sha256:${hashOfCompose.slice(2)}`]);
  const [missing] = measurementCommands(byCommand("true", ["app-compose.json", "gone.json"]));
  assert.throws(
    () => measurementInputDigests(missing, root),
    /apps\[0\]\.composeHashes\[1\]\.inputs\[1\]: cannot read gone\.json/,
  );
});

it("resolves by the Pulumi program's results, else runs the command itself in the project directory", () => {
  const config = byCommand("sha256sum app-compose.json | cut -d' ' -f1");
  const given = `0x${"22".repeat(32)}` as const;
  const fromProgram = resolveMeasurements(config, root, {
    "sha256sum app-compose.json | cut -d' ' -f1": given,
  }) as typeof config;
  assert.equal(fromProgram.apps[0].composeHashes[1], given);
  const ranHere = resolveMeasurements(config, root) as typeof config;
  assert.equal(ranHere.apps[0].composeHashes[1], hashOfCompose);
  assert.throws(
    () => resolveMeasurements(byCommand("echo 'no image here' >&2; exit 4"), root),
    /apps\[0\]\.composeHashes\[1\]\.command: `.*` failed \(exit code 4\):\nno image here/,
  );
});
