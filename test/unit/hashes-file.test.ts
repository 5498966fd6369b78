import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { keccak256, toHex } from "viem";
import { MeasurementError, resolveMeasurements } from "../../src/measurements/resolve";

const hash = (i: number) => keccak256(toHex(i));

describe("a set read from a file ({ hashesFile })", () => {
  const root = mkdtempSync(join(tmpdir(), "gov-hashes-"));
  const write = (name: string, text: string) => writeFileSync(join(root, name), text);

  it("becomes the hashes the file lists, in any set of the KMS or an app; comments and blank lines skipped", () => {
    write("os.txt", `# OS images\n${hash(1)}\n\n${hash(2).toUpperCase().replace("0X", "0x")}  # 0.5.4\n`);
    write("compose.txt", `${hash(3)}\n`);
    const resolved = resolveMeasurements(
      {
        kms: { osImages: { hashesFile: "os.txt" }, devices: [hash(9)] },
        apps: [{ name: "a", composeHashes: { hashesFile: join(root, "compose.txt") } }],
      },
      root,
    );
    assert.deepEqual(resolved, {
      kms: { osImages: [hash(1), hash(2)], devices: [hash(9)] },
      apps: [{ name: "a", composeHashes: [hash(3)] }],
    });
  });

  it("names the field, the file and the line of what is wrong", () => {
    write("bad.txt", `${hash(1)}\n0x1234\n`);
    const cases: [unknown, RegExp][] = [
      [
        { hashesFile: "missing.txt" },
        /^kms\.osImages\.hashesFile: cannot read missing\.txt; give a path relative to the project directory$/,
      ],
      [
        { hashesFile: "bad.txt" },
        /^kms\.osImages\.hashesFile: bad\.txt line 2: "0x1234" is not a 0x-prefixed 32-byte hash$/,
      ],
      [{ hashFile: "bad.txt" }, /^kms\.osImages\.hashFile: unknown key; a set read from a file has only "hashesFile"$/],
      [{ hashesFile: "" }, /^kms\.osImages\.hashesFile: give the path of a file listing one hash per line$/],
    ];
    for (const [osImages, message] of cases)
      assert.throws(
        () => resolveMeasurements({ kms: { osImages } }, root),
        (error: Error) => error instanceof MeasurementError && message.test(error.message),
        JSON.stringify(osImages),
      );
  });
});
