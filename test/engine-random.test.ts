import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, type Abi, type Address, type Hex } from "viem";
import { sendAsOwner } from "../bench/owner-calls";
import { devAccounts } from "../devnet/accounts";
import { devMeasurement } from "../devnet/deploy";
import { dstackAppAbi, dstackKmsAbi } from "../src/chain/abis";
import { readLiveState } from "../src/chain/read-state";
import { parseStackConfig, type StackConfigInput } from "../src/config/schema";
import { approveProposal, executeSafeTransaction, executeTimelockBatch } from "../src/proposal/execute";
import { inspectStack, proposeChanges } from "../src/reconcile/reconcile";
import { openStack } from "../src/reconcile/stack";
import { startTestDevnet, type TestDevnet } from "./helpers/devnet";

/** mulberry32: a seeded generator, so every run makes the same "random" choices. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SetUnderTest {
  name: string;
  target: () => Address;
  abi: Abi;
  add: string;
  remove: string;
  getter: string;
  pool: Hex[];
}

const pool = (label: string) => Array.from({ length: 12 }, (_, i) => devMeasurement(`${label}-${i}`));

describe("engine on random histories and random desired states", () => {
  let devnet: TestDevnet;
  let sets: SetUnderTest[];
  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    const kms = () => devnet.deployment.kms.proxy;
    const app = () => devnet.deployment.apps[0].proxy;
    sets = [
      {
        name: "osImages",
        target: kms,
        abi: dstackKmsAbi,
        add: "addOsImageHash",
        remove: "removeOsImageHash",
        getter: "allowedOsImages",
        pool: pool("os"),
      },
      {
        name: "aggregatedMrs",
        target: kms,
        abi: dstackKmsAbi,
        add: "addKmsAggregatedMr",
        remove: "removeKmsAggregatedMr",
        getter: "kmsAllowedAggregatedMrs",
        pool: pool("mr"),
      },
      {
        name: "kmsDevices",
        target: kms,
        abi: dstackKmsAbi,
        add: "addKmsDevice",
        remove: "removeKmsDevice",
        getter: "kmsAllowedDeviceIds",
        pool: pool("kms-dev"),
      },
      {
        name: "composeHashes",
        target: app,
        abi: dstackAppAbi,
        add: "addComposeHash",
        remove: "removeComposeHash",
        getter: "allowedComposeHashes",
        pool: pool("compose"),
      },
      {
        name: "appDevices",
        target: app,
        abi: dstackAppAbi,
        add: "addDevice",
        remove: "removeDevice",
        getter: "allowedDeviceIds",
        pool: pool("app-dev"),
      },
    ];
  });
  after(() => devnet.stop());

  it("after 200 random add/remove operations on every set, the sets rebuilt from events equal the getters", async () => {
    const random = seeded(7);
    const config = devnet.config();
    const expected = new Map<string, Set<Hex>>([
      ["osImages", new Set(config.kms.osImages as Hex[])],
      ["aggregatedMrs", new Set(config.kms.aggregatedMrs as Hex[])],
      ["kmsDevices", new Set(config.kms.devices as Hex[])],
      ["composeHashes", new Set(config.apps![0].composeHashes as Hex[])],
      ["appDevices", new Set(config.apps![0].devices as Hex[])],
    ]);
    const calls: { to: Address; data: Hex }[] = [];
    for (const set of sets) {
      for (let i = 0; i < 200; i++) {
        const hash = set.pool[Math.floor(random() * set.pool.length)];
        const add = random() < 0.55;
        calls.push({
          to: set.target(),
          data: encodeFunctionData({ abi: set.abi, functionName: add ? set.add : set.remove, args: [hash] }),
        });
        if (add) expected.get(set.name)!.add(hash);
        else expected.get(set.name)!.delete(hash);
      }
    }
    await sendAsOwner(devnet.anvil.rpcUrl, devnet.deployment.timelock!, calls);

    // Declare nothing: membership must come from the event history alone.
    config.kms.osImages = [];
    config.kms.aggregatedMrs = [];
    config.kms.devices = [];
    config.apps![0].composeHashes = [];
    config.apps![0].devices = [];
    const client = devnet.client;
    const live = await readLiveState(client, parseStackConfig(config));
    const rebuilt: Record<string, Hex[]> = {
      osImages: live.kms.osImages,
      aggregatedMrs: live.kms.aggregatedMrs,
      kmsDevices: live.kms.devices,
      composeHashes: live.apps[0].composeHashes,
      appDevices: live.apps[0].devices,
    };
    for (const set of sets) {
      assert.deepEqual([...rebuilt[set.name]].sort(), [...expected.get(set.name)!].sort(), set.name);
      for (const hash of set.pool) {
        const allowed = await client.readContract({
          address: set.target(),
          abi: set.abi,
          functionName: set.getter,
          args: [hash],
        });
        assert.equal(allowed, rebuilt[set.name].includes(hash), `${set.name} ${hash}: getter and rebuilt set agree`);
      }
    }
  });

  it("random desired states: each is reached through Safe and timelock, and then plans nothing", async () => {
    const random = seeded(11);
    const subset = (items: Hex[], min: number) => {
      const chosen = items.filter(() => random() < 0.35);
      return chosen.length >= min ? chosen : items.slice(0, min);
    };
    const root = mkdtempSync(join(tmpdir(), "gov-random-"));
    const [owner1, owner2] = devAccounts.safeOwners;
    for (let round = 0; round < 6; round++) {
      const config: StackConfigInput = devnet.config();
      config.kms.osImages = subset(sets[0].pool, 1);
      config.kms.aggregatedMrs = subset(sets[1].pool, 0);
      config.kms.devices = subset(sets[2].pool, 0);
      config.kms.gatewayAppId = random() < 0.5 ? "gateway-a" : "gateway-b";
      config.apps![0].composeHashes = subset(sets[3].pool, 1);
      config.apps![0].devices = subset(sets[4].pool, 0);
      config.apps![0].allowAnyDevice = random() < 0.5;
      // Random subsets often shrink a set by more than half: accepted here in writing.
      config.policy = {
        overrides: [{ rule: "set.mass-removal", reason: "random desired states shrink sets on purpose" }],
      };
      const stack = await openStack({ name: "devnet", root, rawConfig: config });
      const inspection = await inspectStack(stack);
      if (inspection.calls.length === 0) continue;
      const proposal = (await proposeChanges(stack, inspection, owner1.privateKey))!;
      assert.ok(proposal.convergence, "the proposal carries its convergence proof");
      await approveProposal(stack.client, devnet.wallet(owner2.privateKey), proposal);
      await executeSafeTransaction(stack.client, devnet.wallet(devAccounts.executor.privateKey), proposal);
      await devnet.warp(BigInt(proposal.timelock!.delay));
      await executeTimelockBatch(stack.client, devnet.wallet(devAccounts.executor.privateKey), proposal);
      const after = await inspectStack(stack);
      assert.deepEqual(
        after.calls.map((c) => c.description),
        [],
        `round ${round}: the desired state is reached`,
      );
      assert.deepEqual([...after.live.kms.osImages].sort(), [...(config.kms.osImages as Hex[])].sort());
      assert.deepEqual(
        [...after.live.apps[0].composeHashes].sort(),
        [...(config.apps![0].composeHashes as Hex[])].sort(),
      );
    }
  });
});
