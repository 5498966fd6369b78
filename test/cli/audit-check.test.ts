import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { createTestClient, encodeFunctionData, http, zeroHash, type Hex, type PublicClient } from "viem";
import { devMeasurement } from "../../devnet/deploy";
import { dstackKmsAbi, timelockAbi } from "../../src/chain/abis";
import type { StackConfigInput } from "../../src/config/schema";
import { approveProposal, executeSafeTransaction, signProposal } from "../../src/proposal/execute";
import { writeProposalFiles } from "../../src/proposal/files";
import { executorKey, owners, startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { propose, runGov, sendAsImpersonated, stackRoot } from "./harness";

describe("gov audit --check: one line per monitoring finding, exit 1; 0 on a clean devnet", () => {
  let devnet: TestDevnet;
  let config: StackConfigInput;
  let root: string;
  let client: PublicClient;
  let snapshot: Hex;
  const testClient = () => createTestClient({ mode: "anvil", transport: http(devnet.anvil.rpcUrl) });

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    config = { ...devnet.config(), policy: { proveConvergence: false } };
    client = devnet.client;
    snapshot = await testClient().snapshot();
  });
  after(() => devnet.stop());
  // Each finding on its own: back to the clean devnet, with no proposal files.
  beforeEach(async () => {
    await testClient().revert({ id: snapshot });
    snapshot = await testClient().snapshot();
    root = stackRoot(config);
  });

  const check = async (...flags: string[]) => {
    const run = await runGov(["audit", "--check", ...flags, "--stack", "devnet", "--root", root]);
    const lines = run.stdout.trim().split("\n");
    return { code: run.code, findings: lines.slice(0, -1), summary: lines.at(-1)!, stderr: run.stderr };
  };
  const timelock = () => devnet.deployment.timelock!;
  const safe = () => devnet.deployment.safe!;
  /** Schedules a call in the timelock as the Safe would, without any proposal file. */
  const scheduleForeign = (salt: number) => {
    const payload = encodeFunctionData({
      abi: dstackKmsAbi,
      functionName: "addOsImageHash",
      args: [devMeasurement(`foreign-${salt}`)],
    });
    const data = encodeFunctionData({
      abi: timelockAbi,
      functionName: "scheduleBatch",
      args: [
        [devnet.deployment.kms.proxy],
        [0n],
        [payload],
        zeroHash,
        `0x${salt.toString(16).padStart(64, "0")}`,
        3600n,
      ],
    });
    return sendAsImpersonated(devnet, safe(), timelock(), data);
  };

  it("a clean devnet: exit 0, and the deployment's own setup events are not UNEXPLAINED", async () => {
    const run = await check();
    assert.equal(run.code, 0, run.findings.join("\n") + run.stderr);
    assert.deepEqual(run.findings, []);
    assert.match(run.summary, /clean$/);
    const audit = await runGov(["audit", "--stack", "devnet", "--root", root]);
    assert.match(audit.stdout, /, 0 unexplained/);
    assert.match(audit.stdout, /setup \(before governance held it\)/);
  });

  it("an unexplained change", async () => {
    await sendAsImpersonated(
      devnet,
      timelock(),
      devnet.deployment.kms.proxy,
      encodeFunctionData({
        abi: dstackKmsAbi,
        functionName: "addOsImageHash",
        args: [devMeasurement("behind-the-back")],
      }),
    );
    const run = await check();
    assert.equal(run.code, 1);
    assert.equal(run.findings.length, 1, run.findings.join("\n"));
    assert.match(run.findings[0], /^UNEXPLAINED kms OsImageHashAdded\(/);
    assert.match(run.summary, /1 finding\(s\)$/);
  });

  it("a foreign scheduled operation", async () => {
    await scheduleForeign(1);
    const run = await check();
    assert.equal(run.code, 1);
    assert.equal(run.findings.length, 1, run.findings.join("\n"));
    assert.match(run.findings[0], /^FOREIGN OPERATION 0x[0-9a-f]{64} is scheduled in the timelock/);
  });

  it("more than 3 queued operations (the limit is configurable)", async () => {
    for (const salt of [1, 2, 3, 4]) await scheduleForeign(salt);
    const run = await check();
    assert.equal(run.code, 1);
    assert.equal(run.findings.filter((f) => f.startsWith("FOREIGN OPERATION")).length, 4);
    assert.match(run.findings.at(-1)!, /^QUEUE 4 operations are queued in the timelock, more than 3/);
    const relaxed = await check("--max-queued", "4");
    assert.ok(!relaxed.findings.some((f) => f.startsWith("QUEUE")), relaxed.findings.join("\n"));
  });

  it("a proposal pending for more than 24 h", async () => {
    const kms = { ...config.kms, osImages: [...(config.kms.osImages as Hex[]), devMeasurement("stale")] };
    await propose(root, { ...config, kms });
    assert.equal((await check()).code, 0, "a fresh proposal is fine");
    await devnet.warp(25n * 3600n);
    const run = await check();
    assert.equal(run.code, 1);
    assert.equal(run.findings.length, 1, run.findings.join("\n"));
    assert.match(
      run.findings[0],
      /^STALE PROPOSAL \S+ has waited 25\.\d h for signatures \(0 of 2\), more than 24\.0 h/,
    );
    assert.equal((await check("--max-pending-age", "2d")).code, 0);
  });

  it("signer participation below 80% over the recent proposals", async () => {
    const kms = { ...config.kms, osImages: [...(config.kms.osImages as Hex[]), devMeasurement("participation")] };
    const proposal = await propose(root, { ...config, kms });
    const signed = await signProposal(client, proposal, owners[0].privateKey);
    await writeProposalFiles(root, signed);
    await approveProposal(client, devnet.wallet(owners[1].privateKey), signed);
    await executeSafeTransaction(client, devnet.wallet(executorKey), signed);
    const run = await check();
    assert.equal(run.code, 1);
    assert.equal(run.findings.length, 1, run.findings.join("\n"));
    assert.equal(
      run.findings[0],
      `LOW PARTICIPATION signer ${owners[2].address} (operator-b) signed 0 of the last 1 proposals (0% < 80%)`,
    );
    assert.equal((await check("--min-participation", "0")).code, 0);
  });
});
