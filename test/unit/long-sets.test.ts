import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { pad, toHex, type Hex } from "viem";
import { hashesFileText, INLINE_HASHES, moveLongSets } from "../../cli/long-sets";
import type { StackConfigInput } from "../../src/config/schema";
import { resolveMeasurements } from "../../src/measurements/resolve";

const hashes = (prefix: number, count: number): Hex[] =>
  Array.from({ length: count }, (_, i) => pad(toHex(prefix * 1_000_000 + i)));

function config(osImages: number, composeHashes: number): StackConfigInput {
  return {
    network: { tier: "production", chainId: 8453, rpcUrls: ["https://rpc.example"], startBlock: 1 },
    governance: { mode: "direct", admin: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" },
    kms: { proxy: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", osImages: hashes(1, osImages), devices: hashes(2, 5) },
    apps: [
      {
        name: "web",
        proxy: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        composeHashes: hashes(3, composeHashes),
        devices: [],
      },
    ],
  };
}

describe("long sets in an imported stack file", () => {
  it("leaves a config within the inline limit as it is", () => {
    const input = config(600, INLINE_HASHES - 605);
    const { config: written, files } = moveLongSets(input, "mainnet");
    assert.deepEqual(files, []);
    assert.deepEqual(written, input);
  });

  it("moves the longest sets to files until the rest fits, and leaves the input untouched", () => {
    const input = config(1_500, 800);
    const { config: written, files } = moveLongSets(input, "mainnet");
    // 2,305 hashes: the OS images go (805 left inline), the compose hashes stay.
    assert.deepEqual(
      files.map((f) => [f.field, f.path, f.hashes.length]),
      [["kms.osImages", "hashes/mainnet/kms-osImages.txt", 1_500]],
    );
    assert.deepEqual(written.kms.osImages, { hashesFile: "hashes/mainnet/kms-osImages.txt" });
    assert.equal((written.apps![0].composeHashes as Hex[]).length, 800);
    assert.equal((input.kms.osImages as Hex[]).length, 1_500);

    const both = moveLongSets(config(1_500, 1_200), "org/main net");
    assert.deepEqual(
      both.files.map((f) => f.path),
      ["hashes/org_main_net/kms-osImages.txt", "hashes/org_main_net/app-web-composeHashes.txt"],
    );
  });

  it("writes files that the program reads back to the same sets", () => {
    const input = config(1_500, 1_200);
    const { config: written, files } = moveLongSets(input, "mainnet");
    const root = mkdtempSync(join(tmpdir(), "gov-long-sets-"));
    for (const file of files) {
      mkdirSync(dirname(join(root, file.path)), { recursive: true });
      writeFileSync(join(root, file.path), hashesFileText(file, "mainnet", 42n));
    }
    assert.deepEqual(resolveMeasurements(written, root), input);
  });
});
