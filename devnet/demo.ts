import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createTestClient, http, publicActions } from "viem";
import { repoRoot } from "../src/repo-root";
import { devAccounts } from "./accounts";
import { startAnvil } from "../src/chain/anvil";
import { DEVNET_TIMELOCK_DELAY, deployDevnet, devMeasurement } from "./deploy";
import { runPulumiOrThrow, type PulumiResult } from "./pulumi-cli";
import { linkProjectDir, writeStack } from "./pulumi-stack";
import { devnetStackConfig } from "./stack-config";

const STACK = "devnet";

function step(title: string) {
  console.log(`\n=== ${title}`);
}

/** Prints the part of pulumi's output a reader needs: the changes, diagnostics and the summary. */
function show(result: PulumiResult) {
  const keep = result.output
    .split("\n")
    .filter((line) => /pending|authorize|revoke|in flight|Resources:|to update|unchanged|proposal|~ |\+ \[/.test(line));
  console.log(keep.map((line) => `  ${line.trim()}`).join("\n"));
}

function gov(projectDir: string, args: string[], key?: string): string {
  const result = spawnSync(
    process.execPath,
    [join(repoRoot(), "dist", "cli", "gov.js"), ...args, "--stack", STACK, "--root", projectDir],
    {
      env: { ...process.env, GOV_PRIVATE_KEY: key ?? "" },
      encoding: "utf8",
    },
  );
  const out = `${result.stdout}${result.stderr}`.trim();
  console.log(
    out
      .split("\n")
      .map((line) => `  ${line}`)
      .join("\n"),
  );
  if (result.status !== 0) throw new Error(`gov ${args[0]} failed`);
  return out;
}

/** The whole lifecycle on a local chain: config change → preview → proposal → 2-of-3 → Safe → timelock → empty preview → audit. */
async function demo() {
  const anvil = await startAnvil();
  try {
    step(
      "Start a local chain and deploy Safe (2 of 3) → timelock (1 h delay, 3 d expiration) → DstackKms + 2 DstackApps",
    );
    const deployment = await deployDevnet(anvil.rpcUrl, "safe+timelock");
    const testClient = createTestClient({ mode: "anvil", transport: http(anvil.rpcUrl) }).extend(publicActions);
    const setupDone = await testClient.getBlockNumber();
    console.log(
      `  anvil ${anvil.rpcUrl}; Safe ${deployment.safe}; timelock ${deployment.timelock}; KMS ${deployment.kms.proxy}`,
    );

    const projectDir = join(repoRoot(), ".devnet", "demo");
    rmSync(projectDir, { recursive: true, force: true });
    mkdirSync(projectDir, { recursive: true });
    linkProjectDir(projectDir);
    const config = devnetStackConfig(deployment);
    step(`Create the devnet stack in ${projectDir} (keys set with pulumi config set --secret) and adopt the chain`);
    await writeStack(projectDir, STACK, config, {
      proposerKey: devAccounts.safeOwners[0].privateKey,
      executorKey: devAccounts.executor.privateKey,
    });
    await runPulumiOrThrow(projectDir, ["up", "--yes", "--skip-preview", "--stack", STACK]);

    step("pulumi preview: config and chain agree");
    show(await runPulumiOrThrow(projectDir, ["preview", "--stack", STACK]));

    const newImage = devMeasurement("dstack-os-0.6.0");
    step(`Edit Pulumi.devnet.yaml: authorize OS image ${newImage}; pulumi preview --diff`);
    config.kms.osImages = [...config.kms.osImages, newImage];
    await writeStack(projectDir, STACK, config);
    show(await runPulumiOrThrow(projectDir, ["preview", "--diff", "--stack", STACK]));

    step("pulumi up: writes ONE proposal (signed by the proposer, Safe owner 1); nothing changes on chain");
    show(await runPulumiOrThrow(projectDir, ["up", "--yes", "--skip-preview", "--stack", STACK]));
    const status = gov(projectDir, ["status"]);
    const id = /^\s*(\d+-[0-9a-f]{8})/m.exec(status)?.[1];
    if (!id) throw new Error("no proposal id in gov status");
    console.log(
      `  files: ${["json", "txbuilder.json", "md"].map((ext) => `proposals/${STACK}/${id}.${ext}`).join(", ")}`,
    );
    console.log(
      readFileSync(join(projectDir, "proposals", STACK, `${id}.md`), "utf8")
        .split("\n")
        .slice(0, 12)
        .map((line) => `  | ${line}`)
        .join("\n"),
    );

    step("Safe owner 2 signs (gov sign): 2 of 3");
    gov(projectDir, ["sign", id], devAccounts.safeOwners[1].privateKey);
    step("Anyone executes the Safe transaction (gov execute): the batch is scheduled in the timelock");
    gov(projectDir, ["execute", id], devAccounts.executor.privateKey);
    step("pulumi preview: nothing new to propose; the proposal is queued");
    show(await runPulumiOrThrow(projectDir, ["preview", "--stack", STACK]));

    step(`Wait out the timelock delay (anvil: +${DEVNET_TIMELOCK_DELAY} s) and execute the batch (gov execute)`);
    await testClient.increaseTime({ seconds: Number(DEVNET_TIMELOCK_DELAY) });
    await testClient.mine({ blocks: 1 });
    gov(projectDir, ["execute", id], devAccounts.executor.privateKey);

    step("pulumi preview: the chain now matches the config");
    const final = await runPulumiOrThrow(projectDir, ["preview", "--stack", STACK]);
    show(final);
    if (/to update|to create/.test(final.stdout)) throw new Error("the final preview is not empty");

    step("gov audit: the governance timeline since the devnet was set up, each change attributed to its proposal");
    gov(projectDir, ["audit", "--from-block", String(setupDone + 1n)]);
    console.log("\ndemo finished: every step above ran against a real chain with the real pulumi CLI");
  } finally {
    await anvil.stop();
  }
}

demo().catch((error) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});
