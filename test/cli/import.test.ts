import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPublicClient, encodeFunctionData, getAddress, http } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { sendAsOwner } from "../../bench/owner-calls";
import { devMeasurement } from "../../devnet/deploy";
import { dstackAppAbi, dstackKmsAbi } from "../../src/chain/abis";
import { readStackFile } from "../../src/config/stack-file";
import { inspectStack } from "../../src/reconcile/reconcile";
import { openStack } from "../../src/reconcile/stack";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { runGov, sendAsImpersonated } from "./harness";

/** Imports into a fresh root, then opens the written file the way pulumi up would. */
async function importAndInspect(args: string[]) {
  const root = mkdtempSync(join(tmpdir(), "gov-import-"));
  const run = await runGov(["import", "--stack", "imported", "--root", root, ...args]);
  assert.equal(run.code, 0, run.stderr);
  const raw = readStackFile(root, "imported");
  const inspection = await inspectStack(await openStack({ name: "imported", root, rawConfig: raw }));
  return { root, run, raw: raw as Record<string, any>, inspection };
}

describe("gov import on a safe+timelock devnet", () => {
  let devnet: TestDevnet;
  let args: string[];
  const drifted = devMeasurement("cli-import-drift");

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    const d = devnet.deployment;
    // Live state the devnet config does not describe: import must read the chain, not assume.
    const timelock = getAddress(d.timelock!);
    await sendAsImpersonated(
      devnet,
      timelock,
      d.kms.proxy,
      encodeFunctionData({ abi: dstackKmsAbi, functionName: "addOsImageHash", args: [drifted] }),
    );
    await sendAsImpersonated(
      devnet,
      timelock,
      d.apps[1].proxy,
      encodeFunctionData({ abi: dstackAppAbi, functionName: "transferOwnership", args: [d.safe!] }),
    );
    args = [
      ["--rpc", devnet.anvil.rpcUrl],
      ["--chain-id", String(devnet.anvil.chainId)],
      ["--kms", d.kms.proxy],
      ...d.apps.map((app) => ["--app", `${app.name}=${app.proxy}`]),
      ["--mode", "safe+timelock"],
      ["--safe", d.safe!],
      ["--timelock", d.timelock!],
      ["--tier", "non-production"],
      ["--start-block", String(d.deployBlock)],
    ].flat();
  });
  after(() => devnet.stop());

  it("writes a stack file whose plan is empty and that declares exactly the live state", async () => {
    const { run, raw, inspection } = await importAndInspect(args);
    assert.deepEqual(
      inspection.calls.map((c) => c.description),
      [],
    );
    assert.match(
      run.stdout,
      /wrote .*Pulumi\.imported\.yaml from block \d+: KMS .* \(3 OS images\), 2 app\(s\), safe\+timelock governance/,
    );
    assert.match(
      run.stdout,
      new RegExp(`app-two is owned by ${getAddress(devnet.deployment.safe!)}, not by the governance owner`),
    );

    const d = devnet.deployment;
    assert.deepEqual(raw.governance, {
      mode: "safe+timelock",
      safe: {
        address: d.safe,
        owners: devAccounts.safeOwners.map((o) => ({ address: o.address, org: "unknown" })),
        threshold: 2,
      },
      timelock: {
        address: getAddress(d.timelock!),
        kind: "expiring",
        delay: "1h",
        expiration: "3d",
        executors: "anyone",
      },
    });
    assert.deepEqual(raw.network, {
      tier: "non-production",
      chainId: devnet.anvil.chainId,
      rpcUrls: [devnet.anvil.rpcUrl],
      startBlock: Number(d.deployBlock),
    });
    assert.deepEqual([...raw.kms.osImages].sort(), [...d.kms.osImages, drifted].sort());
    assert.equal(raw.kms.gatewayAppId, "gateway-devnet");
    assert.equal(raw.kms.owner, undefined, "owned by the timelock: the default owner is not repeated");
    assert.equal(raw.apps[1].owner, getAddress(d.safe!));
    assert.deepEqual(
      raw.apps.map((a: { name: string; composeHashes: string[] }) => [a.name, [...a.composeHashes].sort()]),
      d.apps.map((a) => [a.name, [...a.composeHashes].sort()]),
    );
  });

  it("refuses to overwrite an existing stack file unless --force", async () => {
    const root = mkdtempSync(join(tmpdir(), "gov-import-"));
    const path = join(root, "Pulumi.imported.yaml");
    writeFileSync(path, "config: {}\n");
    const refused = await runGov(["import", "--stack", "imported", "--root", root, ...args]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `gov: ${path} exists; pass --force to replace it\n`);
    assert.equal(readFileSync(path, "utf8"), "config: {}\n");

    const forced = await runGov(["import", "--stack", "imported", "--root", root, ...args, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readStackFile(root, "imported").governance !== undefined, true);
  });

  it("names a missing or malformed option and writes nothing", async () => {
    const root = mkdtempSync(join(tmpdir(), "gov-import-"));
    const cases: [string[], RegExp][] = [
      [
        args.filter((a, i) => a !== "--tier" && args[i - 1] !== "--tier"),
        /--tier: give "production" or "non-production"/,
      ],
      [[...args, "--app", "broken"], /--app broken: write it as name=proxyAddress/],
      [args.map((a) => (a === "safe+timelock" ? "multisig" : a)), /--mode: give "safe\+timelock", "safe" or "direct"/],
      [
        args.map((a) => (a === devnet.deployment.kms.proxy ? "0x1234" : a)),
        /--kms: "0x1234" is not a 0x-prefixed 20-byte address/,
      ],
      [
        args.map((a) => (a === String(devnet.anvil.chainId) ? "8453" : a)),
        /the RPC serves chain 31337 but the stack declares 8453/,
      ],
    ];
    for (const [argv, message] of cases) {
      const run = await runGov(["import", "--stack", "imported", "--root", root, ...argv]);
      assert.equal(run.code, 1, argv.join(" "));
      assert.match(run.stderr, message);
      assert.equal(run.stderr.split("\n").length, 2, "one line");
    }
    assert.equal(existsSync(join(root, "Pulumi.imported.yaml")), false);
  });
});

describe("gov import on a direct-mode devnet", () => {
  let devnet: TestDevnet;
  before(async () => {
    devnet = await startTestDevnet("direct");
  });
  after(() => devnet.stop());

  it("imports an admin-owned deployment with an empty plan", async () => {
    const d = devnet.deployment;
    const { raw, inspection } = await importAndInspect([
      ...["--rpc", devnet.anvil.rpcUrl, "--chain-id", String(devnet.anvil.chainId), "--kms", d.kms.proxy],
      ...d.apps.flatMap((app) => ["--app", `${app.name}=${app.proxy}`]),
      ...["--mode", "direct", "--admin", devAccounts.admin.address, "--tier", "production"],
    ]);
    assert.deepEqual(inspection.calls, []);
    assert.deepEqual(raw.governance, { mode: "direct", admin: devAccounts.admin.address });
    // Without --start-block the KMS proxy's deployment block is searched for and written.
    const client = createPublicClient({ transport: http(devnet.anvil.rpcUrl) });
    assert.ok(raw.network.startBlock > Number(d.deployBlock));
    assert.notEqual(
      await client.getCode({ address: d.kms.proxy, blockNumber: BigInt(raw.network.startBlock) }),
      undefined,
    );
    assert.equal(
      await client.getCode({ address: d.kms.proxy, blockNumber: BigInt(raw.network.startBlock - 1) }),
      undefined,
    );
    assert.deepEqual([...raw.kms.devices], d.kms.devices);
  });

  it("writes a set too long for Pulumi's config to a hashes file the stack reads back", async () => {
    const d = devnet.deployment;
    const added = Array.from({ length: 1_100 }, (_, i) => devMeasurement(`cli-import-long-${i}`));
    await sendAsOwner(
      devnet.anvil.rpcUrl,
      devAccounts.admin.address,
      added.map((hash) => ({
        to: d.kms.proxy,
        data: encodeFunctionData({ abi: dstackKmsAbi, functionName: "addOsImageHash", args: [hash] }),
      })),
    );
    const args = [
      ...["--rpc", devnet.anvil.rpcUrl, "--chain-id", String(devnet.anvil.chainId), "--kms", d.kms.proxy],
      ...["--mode", "direct", "--admin", devAccounts.admin.address, "--tier", "production"],
    ];
    const { root, run, raw, inspection } = await importAndInspect(args);
    const file = "hashes/imported/kms-osImages.txt";
    assert.deepEqual(raw.kms.osImages, { hashesFile: file });
    assert.match(
      run.stdout,
      new RegExp(
        `kms\\.osImages \\(${d.kms.osImages.length + 1_100} hashes\\) is listed in ${file}: a stack file keeps`,
      ),
    );
    const listed = readFileSync(join(root, file), "utf8")
      .split("\n")
      .filter((line) => line.startsWith("0x"));
    assert.deepEqual(listed, [...d.kms.osImages, ...added].sort());
    // Read back through the stack file, the set is the live one: nothing to propose.
    assert.deepEqual(inspection.calls, []);
    // The short sets stay inline.
    assert.deepEqual([...raw.kms.devices], d.kms.devices);

    // Without --force, an existing hashes file is not replaced, and no stack file is written.
    rmSync(join(root, "Pulumi.imported.yaml"));
    const again = await runGov(["import", "--stack", "imported", "--root", root, ...args]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /kms-osImages\.txt exists; pass --force to replace it/);
    assert.equal(existsSync(join(root, "Pulumi.imported.yaml")), false);
  });
});
