import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runPulumiOrThrow } from "../../devnet/pulumi-cli";
import { repoRoot } from "../../src/repo-root";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { PulumiProject } from "../helpers/pulumi-project";

/** A failed preview must read as one clear message: the field or rule, and the fix; no stack trace. */
function assertCleanFailure(result: { code: number; output: string }, expected: RegExp) {
  assert.notEqual(result.code, 0, result.output);
  assert.match(result.output, expected);
  assert.doesNotMatch(result.output, /^\s+at .+\(.+:\d+:\d+\)$/m, "no stack trace");
}

describe("pulumi preview refuses bad stacks with a clear message (real CLI)", () => {
  let devnet: TestDevnet;
  let project: PulumiProject;
  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    project = new PulumiProject();
  });
  after(() => devnet.stop());

  it("an invalid hash names the field", async () => {
    const config = devnet.config();
    config.kms.osImages = ["0x1234"];
    await project.configure(config);
    assertCleanFailure(await project.preview(), /kms\.osImages\[0\]: must be a 0x-prefixed 32-byte hex hash/);
    assert.deepEqual(project.proposalFiles(), []);
  });

  for (const typo of [
    {
      edit: (c: Record<string, any>) => (
        (c.governance.safe.treshold = c.governance.safe.threshold), delete c.governance.safe.threshold
      ),
      expected: /governance\.safe\.treshold: unknown key; did you mean "threshold"\?/,
    },
    {
      edit: (c: Record<string, any>) => ((c.kms.device = c.kms.devices), delete c.kms.devices),
      expected: /kms\.device: unknown key; did you mean "devices"\?/,
    },
    {
      edit: (c: Record<string, any>) => ((c.kms.osImage = c.kms.osImages), delete c.kms.osImages),
      expected: /kms\.osImage: unknown key; did you mean "osImages"\?/,
    },
  ]) {
    it(`a misspelled key is named: ${typo.expected.source.split(":")[0].replace(/\\/g, "")}`, async () => {
      const config = devnet.config();
      typo.edit(config);
      await project.configure(config);
      assertCleanFailure(await project.preview(), typo.expected);
      assert.deepEqual(project.proposalFiles(), []);
    });
  }

  it("a config without devices leaves the live devices alone and says they are not managed", async () => {
    const config = devnet.config();
    delete config.kms.devices;
    await project.configure(config);
    const preview = await project.preview();
    assert.equal(preview.code, 0, preview.output);
    assert.match(preview.output, /kms\.devices: not managed, 1 on chain/);
    assert.doesNotMatch(preview.output, /revoke/);
  });

  it("an RPC serving another chain is refused", async () => {
    const config = devnet.config();
    config.network.chainId = 84532;
    await project.configure(config);
    assertCleanFailure(
      await project.preview(),
      /network\.chainId: the RPC serves chain 31337 but the stack declares 84532/,
    );
  });

  it("a production stack below the recommended configuration names the rule and the fix", async () => {
    const config = devnet.config();
    config.network.tier = "production";
    await project.configure(config);
    assertCleanFailure(await project.preview(), /governance\.safe\.owners: .*\[signers\.count\]; fix: /);
  });

  it("an unreachable RPC is one line, not a crash", async () => {
    const config = devnet.config();
    config.network.rpcUrls = ["http://127.0.0.1:9"];
    await project.configure(config);
    assertCleanFailure(await project.preview(), /stack devnet: /);
  });

  it("the shipped testnet stack points at what to fill in", async () => {
    copyFileSync(join(repoRoot(), "Pulumi.testnet.yaml"), join(project.dir, "Pulumi.testnet.yaml"));
    await runPulumiOrThrow(project.dir, ["stack", "init", "testnet", "--secrets-provider", "passphrase"]);
    const preview = await new PulumiProject("testnet", project.dir).preview();
    assertCleanFailure(
      preview,
      /governance\.safe\.address: still the REPLACE_ME placeholder; fill in this deployment.s value/,
    );
  });
});
