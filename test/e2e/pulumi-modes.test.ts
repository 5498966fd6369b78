import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Hex } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import { dstackAppAbi } from "../../src/chain/abis";
import { approveProposal, executeSafeTransaction } from "../../src/proposal/execute";
import { listProposals } from "../../src/proposal/files";
import { startTestDevnet } from "../helpers/devnet";
import { isNoChange, PulumiProject } from "../helpers/pulumi-project";
import { osImageAllowed } from "../helpers/kms-reads";

describe("pulumi in the simpler governance modes (real CLI)", () => {
  it("direct: up sends the transactions with the admin key, and the next preview is empty", async () => {
    const devnet = await startTestDevnet("direct");
    try {
      const client = devnet.client;
      const project = new PulumiProject();
      const config = devnet.config();
      await project.configure(config, { adminKey: devAccounts.admin.privateKey });
      assert.equal((await project.up()).code, 0);
      const hash = devMeasurement("dstack-os-direct");
      config.kms.osImages = [...config.kms.osImages, hash];
      await project.configure(config);
      const preview = await project.preview();
      assert.match(preview.output, new RegExp(`KMS: authorize OS image ${hash}`));
      const up = await project.up();
      assert.equal(up.code, 0, up.output);
      assert.equal(await osImageAllowed(client, devnet.deployment.kms.proxy, hash), true);
      assert.deepEqual(project.proposalFiles(), [], "direct mode writes no proposal");
      const after = await project.preview();
      assert.ok(isNoChange(after), after.output);
      const exported = await project.run("stack", "export");
      assert.equal(
        exported.stdout.includes(devAccounts.admin.privateKey.slice(2)),
        false,
        "the admin key is encrypted in state",
      );
    } finally {
      await devnet.stop();
    }
  });

  it("safe: up writes a plain Safe transaction (no timelock); executed, the preview is empty", async () => {
    const devnet = await startTestDevnet("safe");
    try {
      const client = devnet.client;
      const project = new PulumiProject();
      const config = devnet.config();
      await project.configure(config, { proposerKey: devAccounts.safeOwners[0].privateKey });
      assert.equal((await project.up()).code, 0);
      const compose: Hex = devMeasurement("app-two-compose-v3");
      config.apps![1].composeHashes = [...config.apps![1].composeHashes, compose];
      await project.configure(config);
      assert.equal((await project.up()).code, 0);
      const [proposal] = await listProposals(project.dir, "devnet");
      assert.equal(proposal.route, "safe");
      assert.equal(proposal.timelock, undefined);
      const allowed = () =>
        client.readContract({
          address: devnet.deployment.apps[1].proxy,
          abi: dstackAppAbi,
          functionName: "allowedComposeHashes",
          args: [compose],
        });
      assert.equal(await allowed(), false);
      await approveProposal(client, devnet.wallet(devAccounts.safeOwners[1].privateKey), proposal);
      await executeSafeTransaction(client, devnet.wallet(devAccounts.executor.privateKey), proposal);
      assert.equal(await allowed(), true);
      assert.ok(isNoChange(await project.preview()));
    } finally {
      await devnet.stop();
    }
  });
});
