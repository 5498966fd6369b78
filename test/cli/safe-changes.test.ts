import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { createTestClient, http, type Address, type Hex, type PublicClient } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { DEVNET_TIMELOCK_DELAY } from "../../devnet/deploy";
import { safeAbi } from "../../src/chain/abis";
import type { SafeChangeRoute, StackConfigInput } from "../../src/config/schema";
import { executorKey, owners, startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { propose, runGov, stackRoot } from "./harness";

/** governance.timelock.safeChanges both ways on a devnet: when does a signer swap take effect? */
describe("Safe signer-change route on a safe+timelock devnet (gov CLI)", () => {
  let devnet: TestDevnet;
  let client: PublicClient;
  let snapshot: Hex;
  const testClient = () => createTestClient({ mode: "anvil", transport: http(devnet.anvil.rpcUrl) });
  const newSigner = devAccounts.spareOwners[0].address;

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    client = devnet.client;
    snapshot = await testClient().snapshot();
  });
  after(() => devnet.stop());
  beforeEach(async () => {
    await testClient().revert({ id: snapshot });
    snapshot = await testClient().snapshot();
  });

  /** The devnet's config with the third signer replaced, and the route given. */
  const swapConfig = (route: SafeChangeRoute): StackConfigInput => {
    const config = devnet.config();
    if (config.governance.mode !== "safe+timelock") throw new Error("fixture");
    config.governance.safe.owners[2] = { address: newSigner, org: "operator-c" };
    config.governance.timelock.safeChanges = route;
    return config;
  };
  const safeOwners = () =>
    client.readContract({ address: devnet.deployment.safe!, abi: safeAbi, functionName: "getOwners" });
  const gov = (root: string, key: Hex | undefined, ...args: string[]) =>
    runGov([...args, "--stack", "devnet", "--root", root], key ? { GOV_PRIVATE_KEY: key } : {});
  /** k = 2 owners sign with the gov CLI, then the executor runs the Safe transaction. */
  async function signAndExecute(root: string, id: string) {
    for (const owner of owners.slice(0, 2)) {
      const sign = await gov(root, owner.privateKey, "sign", id);
      assert.equal(sign.code, 0, sign.stderr);
    }
    const execute = await gov(root, executorKey, "execute", id);
    assert.equal(execute.code, 0, execute.stderr);
  }

  it("through-timelock: the Safe transaction only schedules the swap; the signers change after the delay", async () => {
    const config = swapConfig("through-timelock");
    const root = stackRoot(config);
    const status = await gov(root, undefined, "status");
    assert.doesNotMatch(status.stdout, /IMMEDIATELY/);
    const proposal = await propose(root, config);
    assert.deepEqual(
      proposal.calls.map((c) => [c.functionName, c.sender]),
      [
        ["enableModule", devnet.deployment.safe],
        ["execTransactionFromModule", devnet.deployment.timelock],
      ],
    );
    const packet = readFileSync(join(root, "proposals", "devnet", `${proposal.id}.md`), "utf8");
    assert.match(
      packet,
      new RegExp(`replace signer ${owners[2].address} with ${newSigner}.*runs through the timelock, after the delay`),
    );
    assert.ok(proposal.convergence, "the fork run (Safe, delay, timelock batch) ended with an empty plan");

    await signAndExecute(root, proposal.id);
    assert.equal(
      await client.readContract({
        address: devnet.deployment.safe!,
        abi: safeAbi,
        functionName: "isModuleEnabled",
        args: [devnet.deployment.timelock!],
      }),
      true,
    );
    assert.ok((await safeOwners()).includes(owners[2].address), "the old signer stays until the delay is over");

    await devnet.warp(DEVNET_TIMELOCK_DELAY);
    const batch = await gov(root, executorKey, "execute", proposal.id);
    assert.equal(batch.code, 0, batch.stderr);
    const after = await safeOwners();
    assert.ok(after.includes(newSigner) && !after.includes(owners[2].address), after.join());
    assert.match((await gov(root, undefined, "status")).stdout, /Pending plan: none/);
  });

  it("immediate: status warns before, the packet warns, and the swap is live as soon as the Safe transaction runs", async () => {
    const config = { ...swapConfig("immediate"), policy: { proveConvergence: false } };
    const root = stackRoot(config);
    const status = await gov(root, undefined, "status");
    assert.match(
      status.stdout,
      /warning: .*IMMEDIATELY when the Safe transaction executes, without the timelock delay.*\[signers\.immediate\]/s,
    );
    const proposal = await propose(root, config);
    assert.deepEqual(
      proposal.calls.map((c) => [c.functionName, c.sender as Address]),
      [["swapOwner", devnet.deployment.safe]],
    );
    const packet = readFileSync(join(root, "proposals", "devnet", `${proposal.id}.md`), "utf8");
    assert.match(packet, /Safe signer\/threshold change\*\*: .*takes effect IMMEDIATELY/);

    await signAndExecute(root, proposal.id);
    const after = await safeOwners();
    assert.ok(after.includes(newSigner) && !after.includes(owners[2].address), after.join());
  });
});
