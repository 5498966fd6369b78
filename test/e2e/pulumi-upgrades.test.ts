import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getAddress, parseAbi, type Address, type Hex, type PublicClient } from "viem";
import { artifactsDir, BUILD_INFO } from "../../contracts/build";
import { devAccounts } from "../../devnet/accounts";
import { DEVNET_TIMELOCK_DELAY } from "../../devnet/deploy";
import { IMPLEMENTATION_SLOT } from "../../src/chain/read-state";
import type { StackConfigInput } from "../../src/config/schema";
import { loadContractArtifact } from "../../src/implementation/artifact";
import { create2Address } from "../../src/implementation/create2";
import { listProposals } from "../../src/proposal/files";
import type { ProposalFile } from "../../src/proposal/types";
import { runGov } from "../cli/harness";
import type { TestDevnet } from "../helpers/devnet";
import { startE2eStack } from "../helpers/e2e-stack";
import { isNoChange, type PulumiProject } from "../helpers/pulumi-project";

const [owner1, owner2] = devAccounts.safeOwners;
const buildInfo = join(artifactsDir(), BUILD_INFO);
const v1 = { artifact: buildInfo, contract: "DstackKms" };
/** Where the stack's CREATE2 deployment (zero salt) puts a contract of the build. */
const addressOf = (contract: string) =>
  create2Address({
    salt: `0x${"00".repeat(32)}`,
    initcode: loadContractArtifact(buildInfo, contract, "test").bytecode,
  });
const v2Abi = parseAbi(["function version() view returns (string)", "function releaseName() view returns (string)"]);

/**
 * One devnet and one Pulumi stack for the whole story, in order: v1 → v2 from artifacts, then two
 * refusals against that populated stack (unsafe layout, code that is not its artifact), then v2 → a
 * v2 with a reinitializer, checked against the layout recorded when v2 was proposed.
 */
describe("upgrades from build artifacts on a safe+timelock devnet (real CLI)", () => {
  let devnet: TestDevnet;
  let project: PulumiProject;
  let config: StackConfigInput;
  let client: PublicClient;

  before(async () => {
    ({ devnet, project, config } = await startE2eStack({
      proposerKey: owner1.privateKey,
      executorKey: devAccounts.executor.privateKey,
      deployerKey: devAccounts.deployer.privateKey,
    }));
    client = devnet.client;
  });
  after(() => devnet.stop());

  const kmsProxy = () => devnet.deployment.kms.proxy;
  const proxyImplementation = async () =>
    getAddress(`0x${(await client.getStorageAt({ address: kmsProxy(), slot: IMPLEMENTATION_SLOT }))!.slice(26)}`);
  const hasCode = async (address: Address) => ((await client.getCode({ address })) ?? "0x") !== "0x";
  const gov = (args: string[], key?: Hex) =>
    runGov([...args, "--stack", "devnet", "--root", project.dir], key ? { GOV_PRIVATE_KEY: key } : {});
  const layoutRecords = () => {
    try {
      return readdirSync(join(project.dir, "proposals", "devnet", "layouts")).sort();
    } catch {
      return [];
    }
  };
  /** The resources Pulumi's state holds (what a refused run must leave as it was); secrets are re-encrypted on every export. */
  const stateResources = async () => {
    const exported = await project.run("stack", "export");
    assert.equal(exported.code, 0, exported.output);
    const resources = JSON.parse(exported.stdout).deployment.resources as unknown[];
    return JSON.parse(JSON.stringify(resources, (key, value) => (key === "ciphertext" ? "(secret)" : value)));
  };

  /** The proposer signed in `up`; owner2 signs (2 of 3); the Safe transaction runs; after the delay, the batch. */
  async function signAndExecute(p: ProposalFile) {
    for (const [args, key] of [
      [["sign", p.id], owner2.privateKey],
      [["execute", p.id], devAccounts.executor.privateKey],
    ] as const) {
      const run = await gov([...args], key);
      assert.equal(run.code, 0, run.stdout + run.stderr);
    }
    await devnet.warp(DEVNET_TIMELOCK_DELAY);
    const batch = await gov(["execute", p.id], devAccounts.executor.privateKey);
    assert.equal(batch.code, 0, batch.stdout + batch.stderr);
  }

  it("v1 → v2 as artifacts: preview shows the deployment at its address and the upgrade; up deploys and proposes; after execution the proxy runs v2 and preview is empty", async () => {
    const v2 = addressOf("DstackKmsV2");
    const v1Address = devnet.deployment.kms.implementation;
    config.kms.implementation = { artifact: buildInfo, contract: "DstackKmsV2", current: v1 } as never;
    await project.configure(config);
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.output);
    assert.match(
      preview.output,
      new RegExp(
        `\\+ pulumi-nodejs:dynamic/governance:ImplementationDeployment: \\(create\\)\\n\\s*\\[urn=[^\\]]*::kms-implementation\\]\\n(\\s*\\[provider=[^\\]]*\\]\\n)?\\s*address\\s*: "${v2}"`,
      ),
    );
    assert.match(preview.output, new RegExp(`pending: KMS: upgrade implementation ${v1Address} → ${v2}\\n`));
    assert.equal(await hasCode(v2), false, "preview deploys nothing");
    assert.deepEqual(project.proposalFiles(), [], "preview writes nothing");

    const up = await project.up();
    assert.equal(up.code, 0, up.output);
    assert.equal(await hasCode(v2), true, "up deployed the implementation by CREATE2");
    assert.equal(await proxyImplementation(), v1Address, "the upgrade waits for governance");
    const [proposal, ...others] = await listProposals(project.dir, "devnet");
    assert.deepEqual(others, []);
    assert.deepEqual(
      proposal.calls.map((c) => c.description),
      [`KMS: upgrade implementation to ${v2}`],
    );
    assert.deepEqual(layoutRecords(), [`${v2}.json`], "the layout of the proposed implementation is recorded");

    await signAndExecute(proposal);
    assert.equal(await proxyImplementation(), v2, "the EIP-1967 slot points at v2");
    assert.equal(await client.readContract({ address: kmsProxy(), abi: v2Abi, functionName: "version" }), "2");
    const after = await project.preview();
    assert.ok(isNoChange(after), after.output);
  });

  it("a v2 that inserts a storage variable before the existing ones is refused with the library's report; nothing is deployed or written", async () => {
    const state = await stateResources();
    const files = project.proposalFiles();
    const layouts = layoutRecords();
    const running = await proxyImplementation();
    // No `current`: the reference is the layout recorded when the running v2 was proposed.
    config.kms.implementation = { artifact: buildInfo, contract: "DstackKmsV2Unsafe" } as never;
    await project.configure(config);
    // `up` (what would write): preview runs the same program and stops the same way.
    const run = await project.up();
    assert.notEqual(run.code, 0);
    assert.match(
      run.output,
      new RegExp(
        `kms\\.implementation: upgrading ${running} to contracts/DstackKmsV2Unsafe\\.sol:DstackKmsV2Unsafe is unsafe, @openzeppelin/upgrades-core reports:`,
      ),
    );
    assert.match(run.output, /contracts\/DstackKmsV2Unsafe\.sol:\d+: Inserted `registrationFee`/);
    assert.match(run.output, /New variables should be placed after all existing inherited variables/);
    assert.match(run.output, /\[upgrade\.storage-layout\]/);
    assert.deepEqual(project.proposalFiles(), files, "no proposal written");
    assert.deepEqual(layoutRecords(), layouts, "no layout recorded");
    assert.deepEqual(await stateResources(), state, "Pulumi's state unchanged");
    assert.equal(await hasCode(addressOf("DstackKmsV2Unsafe")), false, "the refused implementation is not deployed");
    assert.equal(await proxyImplementation(), running);
  });

  it("an address whose code differs from its artifact is refused", async () => {
    // The devnet's own DstackKmsV2 deployment, claimed to be DstackKmsV2Reinit.
    const claimed = devnet.deployment.kmsV2Implementation;
    const files = project.proposalFiles();
    config.kms.implementation = { artifact: buildInfo, contract: "DstackKmsV2Reinit", address: claimed } as never;
    await project.configure(config);
    const preview = await project.preview();
    assert.notEqual(preview.code, 0);
    assert.match(
      preview.output,
      new RegExp(
        `kms\\.implementation: the code at ${claimed} is not contracts/DstackKmsV2Reinit\\.sol:DstackKmsV2Reinit from .*contracts\\.json: the deployed code is \\d+ bytes, the artifact's \\d+ \\[upgrade\\.bytecode-mismatch\\]`,
      ),
    );
    assert.deepEqual(project.proposalFiles(), files, "nothing written");
  });

  it("v2 → a v2 with a reinitializer, checked against the recorded layout: gov show decodes the call and execution sets the new field", async () => {
    const v2 = addressOf("DstackKmsV2");
    const reinit = addressOf("DstackKmsV2Reinit");
    config.kms.implementation = {
      artifact: buildInfo,
      contract: "DstackKmsV2Reinit",
      call: { function: "initializeV2", args: ["dstack-0.5.4"] },
    } as never;
    await project.configure(config);
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.output);
    assert.match(
      preview.output,
      new RegExp(
        `pending: KMS: upgrade implementation ${v2} → ${reinit}, calling initializeV2\\("dstack-0\\.5\\.4"\\)`,
      ),
    );

    const up = await project.up();
    assert.equal(up.code, 0, up.output);
    const proposal = (await listProposals(project.dir, "devnet")).at(-1)!;
    const shown = await gov(["show", proposal.id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(
      shown.stdout,
      new RegExp(`1\\. KMS: upgrade implementation to ${reinit}, calling initializeV2\\("dstack-0\\.5\\.4"\\)\\n`),
    );
    assert.match(shown.stdout, /the data calls `initializeV2\(string\)` in the proxy/);
    assert.deepEqual(layoutRecords(), [`${v2}.json`, `${reinit}.json`].sort());

    await signAndExecute(proposal);
    assert.equal(await proxyImplementation(), reinit);
    assert.equal(
      await client.readContract({ address: kmsProxy(), abi: v2Abi, functionName: "releaseName" }),
      "dstack-0.5.4",
    );
    const after = await project.preview();
    assert.ok(isNoChange(after), after.output);
  });
});
