import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { encodeFunctionData, type Hex } from "viem";
import { dstackKmsAbi } from "../../src/chain/abis";
import { describeCall } from "../../src/proposal/describe";
import { artifactsDir, BUILD_INFO } from "../../contracts/build";
import { ConfigError } from "../../src/config/schema";
import { compareRuntimeBytecode } from "../../src/implementation/bytecode";
import { describeUpgradeCall, encodeUpgradeCall } from "../../src/implementation/call";
import { create2Address } from "../../src/implementation/create2";
import { layoutUpgradeReport, storageLayoutOf } from "../../src/implementation/layout";
import { loadContractArtifact } from "../../src/implementation/artifact";
import { resolveImplementations } from "../../src/implementation/resolve";

const buildInfo = join(artifactsDir(), BUILD_INFO);
const kms = () => loadContractArtifact(buildInfo, "DstackKms", "kms.implementation");

/** Overwrites `length` bytes at byte `at` of 0x-hex code. */
function patch(code: Hex, at: number, bytes: string): Hex {
  return `${code.slice(0, 2 + at * 2)}${bytes}${code.slice(2 + at * 2 + bytes.length)}` as Hex;
}

describe("bytecode proof", () => {
  const artifact = kms();
  const [immutable] = Object.values(artifact.immutableReferences).flat();
  const metadataStart =
    artifact.deployedBytecode.length / 2 - 1 - 2 - parseInt(artifact.deployedBytecode.slice(-4), 16);

  it("ignores immutables (the constructor's values) and nothing else", () => {
    assert.ok(immutable, "UUPSUpgradeable keeps its own address as an immutable");
    const deployed = patch(artifact.deployedBytecode, immutable.start + immutable.length - 20, "ab".repeat(20));
    assert.deepEqual(compareRuntimeBytecode(deployed, artifact), { match: "full" });
  });

  it("a metadata-only difference is a partial match; a code difference is none", () => {
    assert.deepEqual(compareRuntimeBytecode(patch(artifact.deployedBytecode, metadataStart + 10, "ff"), artifact), {
      match: "partial",
    });
    const result = compareRuntimeBytecode(patch(artifact.deployedBytecode, 40, "fe"), artifact);
    assert.deepEqual(result, { match: "none", reason: "the executable code differs from byte 40 on" });
    assert.equal(compareRuntimeBytecode("0x6000", artifact).match, "none");
  });
});

describe("storage layout (@openzeppelin/upgrades-core)", () => {
  const layout = (contract: string) => storageLayoutOf(loadContractArtifact(buildInfo, contract, "x"));
  it("appending is safe; inserting before existing variables is refused with the library's report", () => {
    assert.equal(layoutUpgradeReport(layout("DstackKms"), layout("DstackKmsV2Reinit")).pass, true);
    const unsafe = layoutUpgradeReport(layout("DstackKms"), layout("DstackKmsV2Unsafe"));
    assert.equal(unsafe.pass, false);
    assert.match(unsafe.explain, /DstackKmsV2Unsafe\.sol:\d+: Inserted `registrationFee`/);
  });
});

describe("upgrade call", () => {
  it("encodes from a signature and JSON arguments and decodes back for the reviewer", () => {
    const data = encodeUpgradeCall({ function: "initializeV2(string)", args: ["v2"] });
    assert.equal(describeUpgradeCall("initializeV2(string)", data), 'initializeV2("v2")');
    const amounts = encodeUpgradeCall({
      function: "migrate(uint256,address[])",
      args: ["1000000000000000000000", ["0x0000000000000000000000000000000000000001"]],
    });
    assert.equal(
      describeUpgradeCall("migrate(uint256,address[])", amounts),
      'migrate("1000000000000000000000", ["0x0000000000000000000000000000000000000001"])',
    );
    assert.throws(
      () => encodeUpgradeCall({ function: "initializeV2(string)", args: [] }),
      /takes 1 argument\(s\), 0 given/,
    );
  });

  it("a proposal's upgradeToAndCall shows its data decoded only with a signature that re-encodes it exactly", () => {
    const proxy = "0x00000000000000000000000000000000000000aa";
    const impl = "0x00000000000000000000000000000000000000bb";
    const inner = encodeUpgradeCall({ function: "initializeV2(string)", args: ["dstack-0.5.4"] });
    const call = {
      to: proxy,
      sender: "0x00000000000000000000000000000000000000cc",
      data: encodeFunctionData({ abi: dstackKmsAbi, functionName: "upgradeToAndCall", args: [impl, inner] }),
    } as const;
    const decoded = describeCall(call, new Map(), "initializeV2(string)");
    assert.equal(decoded.upgradeCall, "initializeV2(string)");
    assert.match(decoded.description, /upgrade implementation to 0x0+bb, calling initializeV2\("dstack-0\.5\.4"\)$/i);
    for (const wrong of [undefined, "initializeV3(string)", "initializeV2(bytes32)", "not a signature"]) {
      const raw = describeCall(call, new Map(), wrong);
      assert.equal(raw.upgradeCall, undefined, String(wrong));
      assert.ok(raw.description.endsWith(` and call it with ${inner}`), raw.description);
    }
  });
});

describe("implementation given as an artifact in the config", () => {
  const root = mkdtempSync(join(tmpdir(), "gov-impl-"));
  const resolve = (implementation: unknown) =>
    resolveImplementations({ kms: { proxy: "0x0000000000000000000000000000000000000001", implementation } }, root);

  it("becomes its CREATE2 address and an upgradeCall with the artifact's full signature", () => {
    const { raw, implementations } = resolve({
      artifact: buildInfo,
      contract: "DstackKmsV2Reinit",
      call: { function: "initializeV2", args: ["x"] },
    });
    const expected = create2Address({
      salt: `0x${"00".repeat(32)}`,
      initcode: loadContractArtifact(buildInfo, "DstackKmsV2Reinit", "x").bytecode,
    });
    assert.deepEqual((raw as { kms: unknown }).kms, {
      proxy: "0x0000000000000000000000000000000000000001",
      implementation: expected,
      upgradeCall: { function: "initializeV2(string)", args: ["x"] },
    });
    assert.equal(implementations[0].path, "kms.implementation");
    assert.ok(implementations[0].deployment);
  });

  it("bad entries name the field and the fix", () => {
    const refused = (implementation: unknown, message: RegExp) =>
      assert.throws(
        () => resolve(implementation),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    refused(
      { artifact: buildInfo, contract: "DstackKmsV3" },
      /kms\.implementation\.contract: .*has no contract DstackKmsV3 \(similar: .*DstackKms/,
    );
    refused(
      { artifact: buildInfo, contract: "DstackKmsV2", adress: "0x" },
      /kms\.implementation: unknown key; did you mean "address"\?/,
    );
    refused({ artifact: "missing.json", contract: "DstackKmsV2" }, /kms\.implementation: cannot read .*missing\.json/);
    refused(
      { artifact: buildInfo, contract: "DstackKmsV2", call: { function: "initializeV3" } },
      /kms\.implementation\.call\.function: .*has no function initializeV3/,
    );
    writeFileSync(join(root, "not-solc.json"), "{}");
    refused(
      { artifact: "not-solc.json", contract: "X" },
      /neither "contracts" \(solc standard-JSON output\) nor "output\.contracts" \(build-info\)/,
    );
  });
});
