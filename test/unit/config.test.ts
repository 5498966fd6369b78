import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatDuration, parseDuration } from "../../src/config/duration";
import { ConfigError, parseStackConfig } from "../../src/config/schema";
import { nearestKey } from "../../src/config/strict";
import { rawConfig } from "./fixtures";

function problems(edit: (c: Record<string, any>) => void): string[] {
  const raw = rawConfig() as Record<string, any>;
  edit(raw);
  try {
    parseStackConfig(raw);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return assert.fail("accepted");
}

describe("stack config: strict keys, plain wording, absent = unmanaged", () => {
  it("a misspelled required key names the typo and the key it meant, not just 'required'", () => {
    assert.deepEqual(
      problems((c) => {
        c.governance.safe.treshold = 2;
        delete c.governance.safe.threshold;
      }),
      ['governance.safe.treshold: unknown key; did you mean "threshold"?'],
    );
  });

  it("unknown keys at every level are errors with the nearest valid key", () => {
    assert.deepEqual(
      problems((c) => (c.kms.device = [])),
      ['kms.device: unknown key; did you mean "devices"?'],
    );
    assert.deepEqual(
      problems((c) => {
        c.kms.osImage = c.kms.osImages;
        delete c.kms.osImages;
      }),
      ['kms.osImage: unknown key; did you mean "osImages"?'],
    );
    assert.deepEqual(
      problems((c) => (c.polcy = {})),
      ['polcy: unknown key; did you mean "policy"?'],
    );
    assert.deepEqual(
      problems((c) => (c.apps[0].allowAnyDevices = true)),
      ['apps[0].allowAnyDevices: unknown key; did you mean "allowAnyDevice"?'],
    );
    assert.deepEqual(
      problems((c) => (c.network.frobnicate = 1)),
      ["network.frobnicate: unknown key; valid keys here: tier, chainId, rpcUrls, startBlock, logChunkSize"],
    );
  });

  it("zod's default wording is replaced", () => {
    assert.deepEqual(
      problems((c) => (c.network.chainId = 0)),
      ["network.chainId: must be more than 0"],
    );
    assert.deepEqual(
      problems((c) => (c.network.chainId = "1")),
      ['network.chainId: must be a number, not string "1"'],
    );
    assert.deepEqual(
      problems((c) => (c.network.tier = "prod")),
      ['network.tier: must be one of "production", "non-production"'],
    );
    assert.deepEqual(
      problems((c) => (c.governance.mode = "multisig")),
      ['governance.mode: must be one of "direct", "safe", "safe+timelock"'],
    );
    assert.deepEqual(
      problems((c) => delete c.kms.proxy),
      ["kms.proxy: required"],
    );
  });

  it("omitted devices, aggregatedMrs and allowAnyDevice stay undefined (not governed), [] stays empty", () => {
    const raw = rawConfig();
    delete raw.kms.devices;
    delete raw.kms.aggregatedMrs;
    delete raw.apps![0].devices;
    delete raw.apps![0].allowAnyDevice;
    const parsed = parseStackConfig(raw);
    assert.equal(parsed.kms.devices, undefined);
    assert.equal(parsed.kms.aggregatedMrs, undefined);
    assert.equal(parsed.apps[0].devices, undefined);
    assert.equal(parsed.apps[0].allowAnyDevice, undefined);
    raw.kms.devices = [];
    assert.deepEqual(parseStackConfig(raw).kms.devices, []);
  });

  it("nearestKey suggests only close keys", () => {
    assert.equal(nearestKey("treshold", ["threshold", "owners"]), "threshold");
    assert.equal(nearestKey("OSIMAGES", ["osImages"]), "osImages");
    assert.equal(nearestKey("zzzzzz", ["threshold", "owners"]), undefined);
  });
});

describe("durations", () => {
  it("parse whole numbers of one unit and format with the largest exact unit", () => {
    assert.equal(parseDuration("90m"), 5400n);
    assert.equal(parseDuration("48h"), 172800n);
    assert.equal(parseDuration("2w"), 1209600n);
    assert.equal(parseDuration("1.5h"), undefined);
    assert.equal(parseDuration("1h30m"), undefined);
    assert.equal(formatDuration(172800n), "2d");
    assert.equal(formatDuration(5400n), "90m");
    assert.equal(formatDuration(61n), "61s");
    for (const text of ["1h", "3d", "1w", "45s"]) assert.equal(formatDuration(parseDuration(text)!), text);
  });
});
