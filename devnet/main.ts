import { devAccounts } from "./accounts";
import { startAnvil } from "../src/chain/anvil";
import { deployDevnet, TOPOLOGIES, type ContractShape, type Topology } from "./deploy";
import { DEVNET_PASSPHRASE, runPulumiOrThrow } from "./pulumi-cli";
import { writeStack } from "./pulumi-stack";
import { devnetStackConfig } from "./stack-config";
import { repoRoot } from "../src/repo-root";

/**
 * `npm run devnet [-- --topology safe|direct] [--contracts two-step]`: a local chain with the whole
 * governance deployed, and a `devnet` stack in this repository that describes it. Runs until
 * Ctrl-C, then stops anvil. `--contracts two-step` deploys the dstack main shape, whose hand-over
 * to the governance owner waits for its acceptOwnership (the first `pulumi up` proposes it).
 */
async function main() {
  const topologyArg = process.argv.indexOf("--topology");
  const topology = (topologyArg > 0 ? process.argv[topologyArg + 1] : "safe+timelock") as Topology;
  if (!TOPOLOGIES.includes(topology)) throw new Error(`--topology: use ${TOPOLOGIES.join(", ")}, not "${topology}"`);
  const contractsArg = process.argv.indexOf("--contracts");
  const contracts = (contractsArg > 0 ? process.argv[contractsArg + 1] : "released") as ContractShape;
  if (!["released", "two-step"].includes(contracts))
    throw new Error(`--contracts: use released or two-step, not "${contracts}"`);
  const anvil = await startAnvil();
  const stop = async () => {
    await anvil.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    const deployment = await deployDevnet(anvil.rpcUrl, topology, { contracts });
    const root = repoRoot();
    const secrets =
      topology === "direct"
        ? { adminKey: devAccounts.admin.privateKey }
        : { proposerKey: devAccounts.safeOwners[0].privateKey, executorKey: devAccounts.executor.privateKey };
    await writeStack(root, "devnet", devnetStackConfig(deployment), secrets);
    await runPulumiOrThrow(root, ["up", "--yes", "--skip-preview", "--stack", "devnet"]);
    console.log(`devnet (${topology}, ${contracts} contracts) on ${anvil.rpcUrl}, chain ${anvil.chainId}
  Safe      ${deployment.safe ?? "-"}
  timelock  ${deployment.timelock ?? "-"}
  DstackKms ${deployment.kms.proxy}
  apps      ${deployment.apps.map((a) => `${a.name} ${a.proxy}`).join(", ")}
Pulumi.devnet.yaml describes it. In another shell:
  source scripts/pulumi-env.sh && export PULUMI_CONFIG_PASSPHRASE=${DEVNET_PASSPHRASE}
  pulumi preview --stack devnet --diff
Ctrl-C stops the chain.`);
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

main().catch((error) => {
  console.error(`devnet: ${(error as Error).message}`);
  process.exit(1);
});
