import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getAddress, parseAbi, type Address, type PublicClient } from "viem";
import { artifactsDir, BUILD_INFO } from "../../contracts/build";
import { devAccounts } from "../../devnet/accounts";
import { DEVNET_TIMELOCK_DELAY } from "../../devnet/deploy";
import { createChainClient } from "../../src/chain/client";
import { IMPLEMENTATION_SLOT } from "../../src/chain/read-state";
import type { StackConfigInput } from "../../src/config/schema";
import { loadContractArtifact } from "../../src/implementation/artifact";
import { create2Address } from "../../src/implementation/create2";
import { approveProposal, executeSafeTransaction } from "../../src/proposal/execute";
import { listProposals } from "../../src/proposal/files";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { isNoChange, PulumiProject } from "../helpers/pulumi-project";

const [owner1, owner2] = devAccounts.safeOwners;
const buildInfo = join(artifactsDir(), BUILD_INFO);
const v1 = { artifact: buildInfo, contract: "DstackKms" };
const addressOf = (contract: string) => create2Address({ salt: `0x${"00".repeat(32)}`, initcode: loadContractArtifact(buildInfo, contract, "test").bytecode });
const v2Abi = parseAbi(["function version() view returns (string)", "function releaseName() view returns (string)"]);

describe("upgrades from build artifacts on a safe+timelock devnet (real CLI)", () => {
  let devnet: TestDevnet;
  let project: PulumiProject;
  let config: StackConfigInput;
  let client: PublicClient;

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    client = createChainClient({ chainId: devnet.anvil.chainId, rpcUrls: [devnet.anvil.rpcUrl] });
    project = new PulumiProject();
    config = devnet.config();
    await project.configure(config, { proposerKey: owner1.privateKey, executorKey: devAccounts.executor.privateKey, deployerKey: devAccounts.deployer.privateKey });
  });
  after(() => devnet.stop());

  const proxyImplementation = async () => getAddress(`0x${(await client.getStorageAt({ address: devnet.deployment.kms.proxy, slot: IMPLEMENTATION_SLOT }))!.slice(26)}`);
  const hasCode = async (address: Address) => ((await client.getCode({ address })) ?? "0x") !== "0x";
  /** The proposer's signature in the file, one on-chain approval, Safe execution, the delay, then `up` runs the timelock batch. */
  async function executeLatest() {
    const p = (await listProposals(project.dir, "devnet")).at(-1)!;
    await approveProposal(client, devnet.wallet(owner2.privateKey), p);
    await executeSafeTransaction(client, devnet.wallet(devAccounts.executor.privateKey), p);
    await devnet.warp(DEVNET_TIMELOCK_DELAY);
    const up = await project.up();
    assert.equal(up.code, 0, up.output);
    return p;
  }

  it("a v2 that inserts a storage variable before the existing ones is refused with the library's report; nothing is deployed or written", async () => {
    config.kms.implementation = { artifact: buildInfo, contract: "DstackKmsV2Unsafe", current: v1 } as never;
    await project.configure(config);
    for (const run of [await project.preview(), await project.up()]) {
      assert.notEqual(run.code, 0);
      assert.match(run.output, /kms\.implementation: upgrading 0x[0-9a-fA-F]{40} to contracts\/DstackKmsV2Unsafe\.sol:DstackKmsV2Unsafe is unsafe, @openzeppelin\/upgrades-core reports:/);
      assert.match(run.output, /contracts\/DstackKmsV2Unsafe\.sol:\d+: Inserted `registrationFee`/);
      assert.match(run.output, /New variables should be placed after all existing inherited variables/);
      assert.match(run.output, /\[upgrade\.storage-layout\]/);
    }
    assert.deepEqual(project.proposalFiles(), []);
    assert.equal(await hasCode(addressOf("DstackKmsV2Unsafe")), false, "the refused implementation is not deployed");
  });

  it("an address whose code differs from the artifact is refused", async () => {
    // The devnet's DstackKmsV2 deployment, claimed to be DstackKmsV2Reinit.
    config.kms.implementation = { artifact: buildInfo, contract: "DstackKmsV2Reinit", address: devnet.deployment.kmsV2Implementation, current: v1 } as never;
    await project.configure(config);
    const preview = await project.preview();
    assert.notEqual(preview.code, 0);
    assert.match(preview.output, new RegExp(`kms\\.implementation: the code at ${devnet.deployment.kmsV2Implementation} is not contracts/DstackKmsV2Reinit\\.sol:DstackKmsV2Reinit from .*contracts\\.json: the deployed code is \\d+ bytes, the artifact's \\d+ \\[upgrade\\.bytecode-mismatch\\]`));
    assert.deepEqual(project.proposalFiles(), []);
  });

  it("v1 → v2 as artifacts: preview shows the deployment at its address and the upgrade; up deploys and proposes; after execution the proxy runs v2 and preview is empty", async () => {
    const v2 = addressOf("DstackKmsV2");
    config.kms.implementation = { artifact: buildInfo, contract: "DstackKmsV2", current: v1 } as never;
    await project.configure(config);
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.output);
    assert.match(preview.output, /\+ .*ImplementationDeployment.*kms-implementation.*create/);
    assert.match(preview.output, new RegExp(`address\\s*: "${v2}"`));
    assert.match(preview.output, new RegExp(`KMS: upgrade implementation ${devnet.deployment.kms.implementation} → ${v2}`));
    assert.equal(await hasCode(v2), false, "preview deploys nothing");

    const up = await project.up();
    assert.equal(up.code, 0, up.output);
    assert.equal(await hasCode(v2), true, "up deployed the implementation by CREATE2");
    assert.equal(await proxyImplementation(), devnet.deployment.kms.implementation, "the upgrade waits for governance");
    const [proposal] = await listProposals(project.dir, "devnet");
    assert.match(proposal.calls[0].description, new RegExp(`→ ${v2}$`));
    const record = JSON.parse(readFileSync(join(project.dir, "proposals", "devnet", "layouts", `${v2}.json`), "utf8"));
    assert.equal(record.contract, "contracts/DstackKmsV2.sol:DstackKmsV2");
    assert.ok(record.layout.storage.some((item: { label: string }) => item.label === "allowedOsImages"));

    await executeLatest();
    assert.equal(await proxyImplementation(), v2);
    assert.equal(await client.readContract({ address: devnet.deployment.kms.proxy, abi: v2Abi, functionName: "version" }), "2");
    const after = await project.preview();
    assert.ok(isNoChange(after), after.output);
  });

  it("v2 → a v2 with a reinitializer, checked against the recorded layout: the packet shows the decoded call and execution sets the new field", async () => {
    const reinit = addressOf("DstackKmsV2Reinit");
    // No `current`: the layout recorded when v2 was proposed is the reference.
    config.kms.implementation = { artifact: buildInfo, contract: "DstackKmsV2Reinit", call: { function: "initializeV2", args: ["dstack-0.5.4"] } } as never;
    await project.configure(config);
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.output);
    assert.match(preview.output, new RegExp(`KMS: upgrade implementation ${addressOf("DstackKmsV2")} → ${reinit}, calling initializeV2\\("dstack-0.5.4"\\)`));

    assert.equal((await project.up()).code, 0);
    const proposal = await executeLatest();
    const packet = readFileSync(join(project.dir, "proposals", "devnet", `${proposal.id}.md`), "utf8");
    assert.match(packet, /calling initializeV2\("dstack-0\.5\.4"\)/);
    assert.ok(existsSync(join(project.dir, "proposals", "devnet", "layouts", `${reinit}.json`)));
    assert.equal(await proxyImplementation(), reinit);
    assert.equal(await client.readContract({ address: devnet.deployment.kms.proxy, abi: v2Abi, functionName: "releaseName" }), "dstack-0.5.4");
    const after = await project.preview();
    assert.ok(isNoChange(after), after.output);
  });
});
