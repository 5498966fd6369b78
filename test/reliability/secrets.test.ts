import assert from "node:assert/strict";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import type { Hex, PublicClient } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { pulumiToolchain } from "../../devnet/pulumi-cli";
import { DEVNET_TIMELOCK_DELAY, devMeasurement } from "../../devnet/deploy";
import { safeAbi } from "../../src/chain/abis";
import { listProposals } from "../../src/proposal/files";
import { runGov } from "../cli/harness";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { isNoChange, PulumiProject } from "../helpers/pulumi-project";
import { osImageAllowed } from "../helpers/kms-reads";

const KEYS = {
  proposer: devAccounts.safeOwners[0].privateKey,
  signer: devAccounts.safeOwners[1].privateKey,
  executor: devAccounts.executor.privateKey,
};

/** Every file under dir, as text; links (the project's dist/ and node_modules/) are not followed. */
function filesUnder(dir: string, files = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) filesUnder(path, files);
    else files.set(path, readFileSync(path, "utf8"));
  }
  return files;
}

/** The CLI's own per-run logs (gzipped, in PULUMI_HOME/logs) of the runs against this project. */
function pulumiLogsOf(projectDir: string): string[] {
  const dir = join(pulumiToolchain().home ?? process.env.PULUMI_HOME ?? join(homedir(), ".pulumi"), "logs");
  return readdirSync(dir)
    .map((name) => readFileSync(join(dir, name)))
    .map((bytes) => (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8"))
    .filter((text) => text.includes(projectDir));
}

/** Where a key shows up, by its 64 hex digits in any letter case (so with or without 0x). */
function leaks(haystacks: Map<string, string>, key: Hex): string[] {
  const digits = key.slice(2).toLowerCase();
  return [...haystacks].filter(([, text]) => text.toLowerCase().includes(digits)).map(([where]) => where);
}

describe("secrets: after a full scenario the proposer, signer and executor keys appear nowhere", () => {
  let devnet: TestDevnet;
  let project: PulumiProject;
  let client: PublicClient;
  /** Every CLI output of the scenario, named by the command that printed it. */
  const outputs = new Map<string, string>();

  async function pulumi(...args: string[]) {
    const result = await project.run(...args);
    outputs.set(`pulumi ${args.join(" ")} #${outputs.size}`, result.output);
    assert.equal(result.code, 0, result.output);
    return result;
  }
  async function gov(args: string[], env: Record<string, string> = {}) {
    const result = await runGov([...args, "--stack", "devnet", "--root", project.dir], env);
    outputs.set(`gov ${args.join(" ")} #${outputs.size}`, `${result.stdout}\n${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    return result;
  }

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    client = devnet.client;
    project = new PulumiProject();
  });
  after(() => devnet.stop());

  it("propose, sign (gov CLI), execute the Safe tx and the timelock batch (pulumi up with the executor key)", async () => {
    const config = devnet.config();
    const image = devMeasurement("secrets-os");
    config.kms.osImages = [...config.kms.osImages, image];
    await project.configure(config, { proposerKey: KEYS.proposer, executorKey: KEYS.executor });
    await pulumi("config");
    await pulumi("preview", "--diff");
    // The proposing run logs at Pulumi's highest verbosity, provider gRPC traffic included.
    await pulumi("up", "--yes", "--skip-preview", "-v=9", "--logtostderr", "--logflow");
    const [proposal] = await listProposals(project.dir, "devnet");
    assert.equal(proposal.signatures.length, 1, "signed by the proposer key");

    await gov(["sign", proposal.id], { GOV_PRIVATE_KEY: KEYS.signer });
    await gov(["status"]);
    await pulumi("up", "--yes", "--skip-preview");
    assert.equal(
      await client.readContract({ address: devnet.deployment.safe!, abi: safeAbi, functionName: "nonce" }),
      1n,
      "the executor key ran the Safe transaction",
    );
    await devnet.warp(DEVNET_TIMELOCK_DELAY);
    await pulumi("up", "--yes", "--skip-preview");
    assert.equal(
      await osImageAllowed(client, devnet.deployment.kms.proxy, image),
      true,
      "the executor key ran the timelock batch",
    );
    assert.ok(isNoChange(await pulumi("preview", "--diff")));
    await pulumi("stack", "output", "--json");
    await pulumi("stack", "history", "--json");
  });

  it("no key in pulumi stack export, the project's files (state, backups, proposals), the pulumi logs or any CLI output", async (t) => {
    const exported = await pulumi("stack", "export");
    const haystacks = new Map<string, string>([
      ["pulumi stack export", exported.stdout],
      ...outputs,
      ...filesUnder(project.dir),
      ...pulumiLogsOf(project.dir).map((text, i) => [`pulumi log #${i}`, text] as [string, string]),
    ]);
    assert.ok(
      [...haystacks.keys()].some((where) => where.includes(".pulumi-state")),
      "the file backend's state is among the files",
    );
    assert.ok(
      [...haystacks.keys()].some((where) => where.startsWith("pulumi log")),
      "the pulumi logs are among the texts",
    );
    t.diagnostic(
      `searched ${haystacks.size} texts (${([...haystacks.values()].join("").length / 1e6).toFixed(1)} MB) for 3 keys`,
    );
    for (const [role, key] of Object.entries(KEYS)) assert.deepEqual(leaks(haystacks, key), [], `the ${role} key`);
    // The search finds what is there: a 32-byte value the proposal files do carry.
    const [proposal] = await listProposals(project.dir, "devnet");
    assert.ok(leaks(haystacks, proposal.safeTxHash).length >= 2);
  });
});
