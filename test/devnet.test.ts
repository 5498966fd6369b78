import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFunctionData, getAddress, zeroAddress } from "viem";
import { devAccounts } from "../devnet/accounts";
import {
  DEVNET_SAFE_THRESHOLD,
  DEVNET_TIMELOCK_DELAY,
  DEVNET_TIMELOCK_EXPIRATION,
  devMeasurement,
  TOPOLOGIES,
} from "../devnet/deploy";
import { dstackAppAbi, dstackKmsAbi, safeAbi, timelockAbi } from "../src/chain/abis";
import { createChainClient } from "../src/chain/client";
import { TIMELOCK_ROLES } from "../src/chain/read-state";
import { canonicalSafeContractsByVersion } from "../src/chain/safe-deployments";
import { startTestDevnet } from "./helpers/devnet";

const expectedOwner = { direct: "admin", safe: "safe", "safe+timelock": "timelock", documented: "timelock" } as const;

for (const topology of TOPOLOGIES) {
  describe(`devnet: ${topology}`, () => {
    it("deploys the declared governance, deterministically", async () => {
      const devnet = await startTestDevnet(topology);
      const again = await startTestDevnet(topology);
      try {
        const d = devnet.deployment;
        assert.deepEqual(
          { ...again.deployment, rpcUrl: d.rpcUrl },
          d,
          "a second deployment lands at the same addresses",
        );
        const client = createChainClient({ chainId: 31337, rpcUrls: [devnet.anvil.rpcUrl] });
        const read = client.readContract.bind(client) as (args: object) => Promise<unknown>;

        const owner = { admin: devAccounts.admin.address, safe: d.safe, timelock: d.timelock }[expectedOwner[topology]];
        assert.equal(d.governanceOwner, owner);
        assert.equal(await read({ address: d.kms.proxy, abi: dstackKmsAbi, functionName: "owner" }), owner);
        for (const app of d.apps)
          assert.equal(await read({ address: app.proxy, abi: dstackAppAbi, functionName: "owner" }), owner);
        for (const hash of d.kms.osImages)
          assert.equal(
            await read({ address: d.kms.proxy, abi: dstackKmsAbi, functionName: "allowedOsImages", args: [hash] }),
            true,
          );
        for (const hash of d.apps[0].composeHashes)
          assert.equal(
            await read({
              address: d.apps[0].proxy,
              abi: dstackAppAbi,
              functionName: "allowedComposeHashes",
              args: [hash],
            }),
            true,
          );

        if (topology === "direct") {
          assert.equal(d.safe, undefined);
          return;
        }
        const version = topology === "documented" ? "1.3.0" : "1.4.1";
        for (const [name, address] of Object.entries(canonicalSafeContractsByVersion[version]))
          if (!(version === "1.3.0" && name === "signMessageLib"))
            assert.ok(await client.getCode({ address }), `Safe ${version} ${name} has code at its canonical address`);
        assert.deepEqual(
          await read({ address: d.safe!, abi: safeAbi, functionName: "getOwners" }),
          devAccounts.safeOwners.map((o) => o.address),
        );
        assert.equal(
          await read({ address: d.safe!, abi: safeAbi, functionName: "getThreshold" }),
          BigInt(DEVNET_SAFE_THRESHOLD),
        );
        assert.equal(await read({ address: d.safe!, abi: safeAbi, functionName: "VERSION" }), version);
        // The L2 singleton: the proxy's storage slot 0 holds the canonical GnosisSafeL2 / SafeL2 address.
        const singleton = await client.getStorageAt({ address: d.safe!, slot: "0x0" });
        assert.equal(
          getAddress(`0x${singleton!.slice(-40)}`),
          canonicalSafeContractsByVersion[version].safeL2Singleton,
        );
        if (topology === "safe") return;

        const timelock = { address: d.timelock!, abi: timelockAbi };
        assert.equal(await read({ ...timelock, functionName: "getMinDelay" }), DEVNET_TIMELOCK_DELAY);
        if (topology === "documented") {
          await assert.rejects(
            read({ ...timelock, functionName: "expiration" }),
            "a stock TimelockController has no expiration()",
          );
          assert.equal(
            await read({ ...timelock, functionName: "hasRole", args: [TIMELOCK_ROLES.executor, zeroAddress] }),
            false,
          );
          assert.equal(
            await read({ ...timelock, functionName: "hasRole", args: [TIMELOCK_ROLES.executor, d.safe] }),
            true,
            "only the Safe executes",
          );
        } else {
          assert.equal(await read({ ...timelock, functionName: "expiration" }), DEVNET_TIMELOCK_EXPIRATION);
          assert.equal(
            await read({ ...timelock, functionName: "hasRole", args: [TIMELOCK_ROLES.executor, zeroAddress] }),
            true,
            "anyone may execute",
          );
        }
        assert.equal(
          await read({ ...timelock, functionName: "hasRole", args: [TIMELOCK_ROLES.proposer, d.safe] }),
          true,
        );
        assert.equal(
          await read({ ...timelock, functionName: "hasRole", args: [TIMELOCK_ROLES.canceller, d.safe] }),
          true,
        );
        const adminRole = await read({ ...timelock, functionName: "DEFAULT_ADMIN_ROLE" });
        assert.equal(
          await read({ ...timelock, functionName: "hasRole", args: [adminRole, devAccounts.deployer.address] }),
          false,
          "no admin besides the timelock itself",
        );
        for (const signer of devAccounts.safeOwners) {
          assert.equal(
            await read({ ...timelock, functionName: "hasRole", args: [TIMELOCK_ROLES.proposer, signer.address] }),
            false,
          );
        }

        // Only the timelock can change policy: a Safe owner's own key cannot.
        const direct = devnet.wallet(devAccounts.safeOwners[0].privateKey);
        const data = encodeFunctionData({
          abi: dstackKmsAbi,
          functionName: "addOsImageHash",
          args: [devMeasurement("sneaky")],
        });
        await assert.rejects(
          direct.sendTransaction({ account: direct.account!, chain: direct.chain, to: d.kms.proxy, data }),
          /OwnableUnauthorizedAccount|reverted/,
        );
        await assert.rejects(
          direct.sendTransaction({
            account: direct.account!,
            chain: direct.chain,
            to: d.timelock!,
            data: encodeFunctionData({ abi: timelockAbi, functionName: "updateDelay", args: [0n] }),
          }),
          /TimelockUnauthorizedCaller|reverted/,
        );
      } finally {
        await devnet.stop();
        await again.stop();
      }
    });
  });
}
