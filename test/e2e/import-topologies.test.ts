/**
 * `gov import` of every devnet topology, then the real CLI: the stack it writes previews with
 * nothing to propose, on the first run. Each case is a fresh chain deployed as that topology.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFunctionData } from "viem";
import {
  type ContractShape,
  type DevnetDeployment,
  type OpenZeppelinMajor,
  type Topology,
  topologyMode,
} from "../../devnet/deploy";
import { devAccounts } from "../../devnet/accounts";
import { runPulumiOrThrow } from "../../devnet/pulumi-cli";
import { ownable2StepAbi } from "../../src/chain/abis";
import { runGov } from "../cli/harness";
import { sendAsImpersonated, startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { PulumiProject } from "../helpers/pulumi-project";

const CASES: { topology: Topology; contracts?: ContractShape; openZeppelin?: OpenZeppelinMajor }[] = [
  { topology: "safe+timelock" },
  { topology: "safe" },
  { topology: "direct" },
  { topology: "documented" },
  { topology: "documented", openZeppelin: 4 },
  { topology: "safe+timelock", contracts: "two-step" },
];

function importArgs(d: DevnetDeployment): string[] {
  const mode = topologyMode(d.topology);
  return [
    ...["--rpc", d.rpcUrl, "--chain-id", String(d.chainId), "--kms", d.kms.proxy],
    ...d.apps.flatMap((app) => ["--app", `${app.name}=${app.proxy}`]),
    ...["--mode", mode, "--tier", "non-production", "--start-block", String(d.deployBlock)],
    ...(mode === "direct" ? ["--admin", devAccounts.admin.address] : ["--safe", d.safe!]),
    ...(mode === "safe+timelock" ? ["--timelock", d.timelock!] : []),
  ];
}

/** The two-step devnet leaves the deployer's hand-over pending; a deployment that finished it is what gets imported here. */
async function acceptHandOver(devnet: TestDevnet) {
  const d = devnet.deployment;
  const accept = encodeFunctionData({ abi: ownable2StepAbi, functionName: "acceptOwnership" });
  for (const proxy of [d.kms.proxy, ...d.apps.map((a) => a.proxy)])
    await sendAsImpersonated(devnet, d.governanceOwner, proxy, accept);
}

describe("gov import of each devnet topology: the first pulumi preview proposes nothing (real CLI)", () => {
  for (const { topology, contracts, openZeppelin } of CASES) {
    const name = [topology, contracts && `${contracts} contracts`, openZeppelin && `OpenZeppelin ${openZeppelin}.x`]
      .filter(Boolean)
      .join(", ");
    it(name, async () => {
      const devnet = await startTestDevnet(topology, { contracts, openZeppelin });
      try {
        if (contracts === "two-step") await acceptHandOver(devnet);
        const project = new PulumiProject("imported");
        const run = await runGov([
          "import",
          "--stack",
          "imported",
          "--root",
          project.dir,
          ...importArgs(devnet.deployment),
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.doesNotMatch(run.stdout, /the first plan will still propose/);
        await runPulumiOrThrow(project.dir, ["stack", "init", "imported", "--secrets-provider", "passphrase"]);
        const preview = await project.preview();
        assert.equal(preview.code, 0, preview.output);
        // A fresh stack only adopts the governed resources; a call still needed would log "pending:" (policy warnings may show).
        assert.match(preview.stdout, /\+ \d+ to create/);
        assert.doesNotMatch(preview.output, /pending:|in flight|to (update|delete|replace)/);
        assert.deepEqual(project.proposalFiles(), []);
      } finally {
        await devnet.stop();
      }
    });
  }
});
