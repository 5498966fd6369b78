import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { toFunctionSelector } from "viem";
import { devAccounts } from "../devnet/accounts";
import { devMeasurement } from "../devnet/deploy";
import { decodeMemberships, MEMBERSHIP_READER_BYTECODE, readMemberships } from "../src/chain/membership-reader";
import { CALLS_PER_MULTICALL } from "../src/chain/multicall";
import { startTestDevnet, type TestDevnet } from "./helpers/devnet";

const artifact = join(__dirname, "..", "..", "artifacts", "MembershipReader.json");

describe("membership reader (contracts/MembershipReader.sol run as an eth_call's creation code)", () => {
  let devnet: TestDevnet;
  before(async () => {
    devnet = await startTestDevnet("direct");
  });
  after(() => devnet.stop());

  it("the engine's bytecode is the build's: recompiled sources cannot drift from it", () => {
    const built = JSON.parse(readFileSync(artifact, "utf8")) as { bytecode: string };
    assert.equal(
      MEMBERSHIP_READER_BYTECODE,
      built.bytecode,
      "contracts/MembershipReader.sol changed: copy artifacts/MembershipReader.json's bytecode into src/chain/membership-reader.ts",
    );
  });

  it("answers each item of each query in order: members, non-members, a getter that reverts, an account with no code", async () => {
    const { kms, apps } = devnet.deployment;
    const block = await devnet.client.getBlock();
    const osImage = toFunctionSelector("allowedOsImages(bytes32)");
    const compose = toFunctionSelector("allowedComposeHashes(bytes32)");
    const answers = await readMemberships(devnet.client, block, [
      {
        target: kms.proxy,
        selector: osImage,
        items: [kms.osImages[0], devMeasurement("never-added"), kms.osImages[1]],
      },
      { target: apps[0].proxy, selector: compose, items: [apps[0].composeHashes[1]] },
      // The KMS has no compose hashes: no such function, no fallback.
      { target: kms.proxy, selector: compose, items: [apps[0].composeHashes[1]] },
      { target: devAccounts.safeOwners[0].address, selector: osImage, items: [kms.osImages[0]] },
    ]);
    assert.deepEqual(answers, [true, false, true, true, "reverted", "not a bool"]);
  });

  it("splits more items than one call takes into parallel calls, answers still in order", async () => {
    const { kms } = devnet.deployment;
    const items = Array.from({ length: CALLS_PER_MULTICALL + 3 }, (_, i) => devMeasurement(`absent-${i}`));
    items[CALLS_PER_MULTICALL + 1] = kms.osImages[0];
    const answers = await readMemberships(devnet.client, await devnet.client.getBlock(), [
      { target: kms.proxy, selector: toFunctionSelector("allowedOsImages(bytes32)"), items },
    ]);
    assert.equal(answers.length, items.length);
    assert.deepEqual(
      answers.flatMap((answer, i) => (answer === false ? [] : [[i, answer]])),
      [[CALLS_PER_MULTICALL + 1, true]],
    );
  });

  it("refuses an answer of the wrong length or with a byte it never writes", () => {
    assert.deepEqual(decodeMemberships("0x00010203", 4), [false, true, "reverted", "not a bool"]);
    assert.throws(() => decodeMemberships("0x0001", 3), /answered 2 bytes for 3 items/);
    assert.throws(() => decodeMemberships("0x0004", 2), /answered 0x04 for item 1/);
  });
});
