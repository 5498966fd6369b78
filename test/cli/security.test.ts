import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getAddress, type Address, type PublicClient } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import { safeAbi } from "../../src/chain/abis";
import { repoRoot } from "../../src/repo-root";
import type { StackConfigInput } from "../../src/config/schema";
import type { ProposalFile } from "../../src/proposal/types";
import { owners, startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { filesUnder, propose, runGov, stackRoot } from "./harness";
import { osImageAllowed } from "../helpers/kms-reads";

/**
 * The security defects of issue 10, each as a user meets it on the devnet: forged proposal text,
 * a queued operation cancelled and re-proposed, typo'd and impossible addresses, a corrupt file,
 * a wrong contract at a configured address.
 */
describe("security: what a signer reads is what is signed; queued work is never undone", () => {
  let devnet: TestDevnet;
  let client: PublicClient;
  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    client = devnet.client;
  });
  after(() => devnet.stop());

  const govIn =
    (root: string) =>
    (args: string[], env: Record<string, string> = {}) =>
      runGov([...args, "--stack", "devnet", "--root", root], env);
  const fileOf = (root: string, id: string) => join(root, "proposals", "devnet", `${id}.json`);
  const edit = (root: string, id: string, change: (p: ProposalFile) => void) => {
    const p = JSON.parse(readFileSync(fileOf(root, id), "utf8")) as ProposalFile;
    change(p);
    writeFileSync(fileOf(root, id), `${JSON.stringify(p, null, 2)}\n`);
  };

  describe("1. the readable part of a proposal is recomputed, a forged one refused", () => {
    let root: string;
    let proposal: ProposalFile;
    let original: string;
    before(async () => {
      const config = devnet.config();
      config.kms.implementation = devnet.deployment.kmsV2Implementation;
      root = stackRoot(config);
      proposal = await propose(root, config);
      original = readFileSync(fileOf(root, proposal.id), "utf8");
    });
    const restore = () => writeFileSync(fileOf(root, proposal.id), original);

    it("the file describes the upgrade its calldata makes", async () => {
      const show = await govIn(root)(["show", proposal.id]);
      assert.equal(show.code, 0, show.stderr);
      assert.ok(
        show.stdout.includes(`KMS: upgrade implementation to ${devnet.deployment.kmsV2Implementation}`),
        show.stdout,
      );
      assert.ok(show.stdout.includes("2 of 3 signatures needed (owners on chain now)"), show.stdout);
    });

    it("a forged description and args: show and sign refuse the file naming the field; nothing is signed", async () => {
      edit(root, proposal.id, (p) => {
        p.calls[0].description = "KMS: no-op re-init, no signer change";
        p.calls[0].args = [devnet.deployment.kms.implementation, "0x"];
      });
      const before = filesUnder(root);
      const show = await govIn(root)(["show", proposal.id]);
      assert.equal(show.code, 1);
      assert.match(show.stderr, /calls\[0\]\.description/);
      assert.ok(
        show.stderr.includes(`KMS: upgrade implementation to ${devnet.deployment.kmsV2Implementation}`),
        show.stderr,
      );
      assert.equal(show.stdout, "");
      const sign = await govIn(root)(["sign", proposal.id], { GOV_PRIVATE_KEY: owners[0].privateKey });
      assert.equal(sign.code, 1);
      assert.match(sign.stderr, /calls\[0\]\.description/);
      assert.deepEqual(filesUnder(root), before, "nothing was written");
      restore();
    });

    it("forged args alone are named too", async () => {
      edit(root, proposal.id, (p) => (p.calls[0].args = [devnet.deployment.kms.implementation, "0x"]));
      const show = await govIn(root)(["show", proposal.id]);
      assert.equal(show.code, 1);
      assert.match(show.stderr, /calls\[0\]\.args/);
      restore();
    });

    it("a forged before → after, expected state or organisation is refused naming the field; nothing is signed", async () => {
      const forgeries: [string, (p: ProposalFile) => void, RegExp][] = [
        [
          "change",
          (p) => (p.calls[0].change = "implementation unchanged (no-op re-init)"),
          /calls\[0\]\.change: the file says "implementation unchanged \(no-op re-init\)", the calldata on the chain at block \d+ says "implementation 0x\w+ → 0x\w+"/,
        ],
        [
          "expectedState",
          (p) => (p.expectedState!.implementations.kms = devnet.deployment.kms.implementation),
          /expectedState\.implementations: the file's differs from the calls replayed on the chain at block \d+/,
        ],
        [
          "organisations",
          (p) => (p.organisations![devAccounts.outsider.address] = "operator-a"),
          new RegExp(
            `organisations\\.${devAccounts.outsider.address}: the file says "operator-a", the stack config names no such signer`,
          ),
        ],
      ];
      for (const [name, forge, refusal] of forgeries) {
        edit(root, proposal.id, forge);
        const before = filesUnder(root);
        const show = await govIn(root)(["show", proposal.id]);
        assert.equal(show.code, 1, `${name}: ${show.stdout}`);
        assert.match(show.stderr, refusal);
        assert.equal(show.stdout, "");
        const sign = await govIn(root)(["sign", proposal.id], { GOV_PRIVATE_KEY: owners[0].privateKey });
        assert.equal(sign.code, 1, name);
        assert.match(sign.stderr, refusal);
        assert.deepEqual(filesUnder(root), before, `${name}: nothing was written`);
        restore();
      }
      const show = await govIn(root)(["show", proposal.id]);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /before → after: implementation 0x\w+ → 0x\w+/, "the honest file shows its change");
    });

    it("a threshold edited to 1 is refused naming safe.threshold", async () => {
      edit(root, proposal.id, (p) => (p.safe.threshold = 1));
      const show = await govIn(root)(["show", proposal.id]);
      assert.equal(show.code, 1);
      assert.match(show.stderr, /safe\.threshold: the file says 1, the Safe requires 2/);
      assert.ok(!show.stdout.includes("1 of 1"));
      restore();
    });

    it("an outsider added to the file's owners cannot sign", async () => {
      edit(root, proposal.id, (p) => p.safe.owners.push(devAccounts.outsider.address));
      const before = filesUnder(root);
      const sign = await govIn(root)(["sign", proposal.id], { GOV_PRIVATE_KEY: devAccounts.outsider.privateKey });
      assert.equal(sign.code, 1);
      assert.match(sign.stderr, /safe\.owners/);
      assert.deepEqual(filesUnder(root), before);
      restore();
      const honest = await govIn(root)(["sign", proposal.id], { GOV_PRIVATE_KEY: devAccounts.outsider.privateKey });
      assert.equal(honest.code, 1);
      assert.match(
        honest.stderr,
        new RegExp(`${devAccounts.outsider.address} is not an owner of Safe ${devnet.deployment.safe} on chain`),
      );
      assert.equal(readFileSync(fileOf(root, proposal.id), "utf8"), original);
    });

    it("an unknown key or a wrong format in the file is refused naming it", async () => {
      edit(root, proposal.id, (p) => ((p as unknown as Record<string, unknown>).note = "looks harmless"));
      const extra = await govIn(root)(["show", proposal.id]);
      assert.equal(extra.code, 1);
      assert.match(extra.stderr, /note/);
      restore();
      edit(
        root,
        proposal.id,
        (p) => ((p as unknown as Record<string, unknown>).format = "dstack-governance-proposal/0"),
      );
      const format = await govIn(root)(["show", proposal.id]);
      assert.equal(format.code, 1);
      assert.match(format.stderr, /format/);
      restore();
    });
  });

  describe("2. a mixed proposal whose Safe part ran stays queued by operation id", () => {
    let root: string;
    let config: StackConfigInput;
    let mixed: ProposalFile;
    const image = devMeasurement("security-mixed-os");
    const later = devMeasurement("security-mixed-later");
    let swapped: Address;

    before(async () => {
      config = devnet.config();
      // Replace the third signer and authorize an OS image: a Safe call plus a timelock call.
      swapped = devAccounts.spareOwners[0].address;
      const gov = config.governance as Extract<StackConfigInput["governance"], { mode: "safe+timelock" }>;
      gov.safe.owners = [gov.safe.owners[0], gov.safe.owners[1], { address: swapped, org: "operator-b" }];
      config.kms.osImages = [...config.kms.osImages, image];
      root = stackRoot(config);
      mixed = await propose(root, config);
      assert.equal(mixed.route, "safe+timelock");
      for (const owner of [owners[0], owners[1]]) {
        const run = await govIn(root)(["sign", mixed.id], { GOV_PRIVATE_KEY: owner.privateKey });
        assert.equal(run.code, 0, run.stderr);
      }
      const run = await govIn(root)(["execute", mixed.id], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
      assert.equal(run.code, 0, run.stderr);
    });

    it("7. the signer change took effect at the Safe execution, the timelock call waits; the README says so", async () => {
      const safeOwners = await client.readContract({
        address: mixed.safe.address,
        abi: safeAbi,
        functionName: "getOwners",
      });
      assert.ok(safeOwners.includes(swapped) && !safeOwners.includes(owners[2].address));
      assert.equal(await osImageAllowed(client, devnet.deployment.kms.proxy, image), false);
      const readme = readFileSync(join(repoRoot(), "README.md"), "utf8").replace(/\s+/g, " ");
      assert.doesNotMatch(readme, /Nothing changes on chain until k signers approve and the timelock delay has passed/);
      assert.match(readme, /Safe signer and threshold changes take effect when the Safe transaction executes/);
    });

    it("status: the proposal is queued and carries the pending timelock call", async () => {
      const status = await govIn(root)(["status"]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, new RegExp(`${mixed.id}\\s+${mixed.safe.nonce}\\s+queued in the timelock until`));
      assert.doesNotMatch(status.stdout, /not yet proposed/);
      assert.match(status.stdout, new RegExp(`Pending plan: 1 call\\(s\\), all carried by proposal ${mixed.id}`));
    });

    it("up proposes nothing new and cancels nothing", async () => {
      const filesBefore = readdirSync(join(root, "proposals", "devnet")).sort();
      const again = await propose(root, config).catch((error: Error) => error);
      assert.ok(!(again instanceof Error) || /planned no calls/.test(again.message), String(again));
      if (!(again instanceof Error)) assert.equal(again.id, mixed.id);
      assert.deepEqual(readdirSync(join(root, "proposals", "devnet")).sort(), filesBefore);
    });

    it("a new change is proposed alone; the queued operation is left in place and the packet says so", async () => {
      config.kms.osImages = [...config.kms.osImages, later];
      const next = await propose(root, config);
      assert.deepEqual(next.timelock?.cancels, []);
      assert.deepEqual(
        next.calls.map((c) => c.args[0]),
        [later],
      );
      const show = await govIn(root)(["show", next.id]);
      assert.equal(show.code, 0, show.stderr);
      assert.ok(
        show.stdout.includes(`Leaves operation \`${mixed.timelock!.operationId}\` of proposal ${mixed.id} queued`),
        show.stdout,
      );
    });

    it("dropping the queued change cancels exactly that operation, and the packet says what it cancels", async () => {
      config.kms.osImages = config.kms.osImages.filter((h) => h !== image);
      const next = await propose(root, config);
      assert.deepEqual(next.timelock?.cancels, [mixed.timelock!.operationId]);
      const show = await govIn(root)(["show", next.id]);
      assert.equal(show.code, 0, show.stderr);
      assert.ok(
        show.stdout.includes(`cancels operation \`${mixed.timelock!.operationId}\` (proposal ${mixed.id})`),
        show.stdout,
      );
      config.kms.osImages = [...config.kms.osImages, image];
    });

    it("after the delay the queued batch runs and nothing is left of it", async () => {
      await devnet.warp(BigInt(mixed.timelock!.delay));
      const run = await govIn(root)(["execute", mixed.id], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(await osImageAllowed(client, devnet.deployment.kms.proxy, image), true);
      const status = await govIn(root)(["status"]);
      assert.match(status.stdout, new RegExp(`${mixed.id}\\s+${mixed.safe.nonce}\\s+executed`));
    });
  });

  describe("3/4. addresses: EIP-55 checksums, impossible owners", () => {
    const withOwner = (address: string) => {
      const config = devnet.config();
      const gov = config.governance as Extract<StackConfigInput["governance"], { mode: "safe+timelock" }>;
      gov.safe.owners[2] = { address: address as Address, org: "operator-b" };
      return config;
    };
    const statusOf = (config: StackConfigInput) => govIn(stackRoot(config))(["status"]);

    it("a mixed-case address with a wrong checksum is refused naming the field", async () => {
      const good = owners[2].address;
      // Flip the case of one letter: a checksum a typo would break.
      const index = [...good].findIndex((ch, i) => i > 1 && /[a-fA-F]/.test(ch));
      const flipped =
        good.slice(0, index) +
        (good[index] === good[index].toUpperCase() ? good[index].toLowerCase() : good[index].toUpperCase()) +
        good.slice(index + 1);
      const run = await statusOf(withOwner(flipped));
      assert.equal(run.code, 1);
      assert.match(run.stderr, /governance\.safe\.owners\[2\]\.address: .*EIP-55 checksum/);
    });

    it("an all-lowercase address is accepted with a warning naming the checksummed form", async () => {
      const run = await statusOf(withOwner(owners[2].address.toLowerCase()));
      assert.equal(run.code, 0, run.stderr);
      assert.ok(
        run.stdout.includes(`governance.safe.owners[2].address`) && run.stdout.includes(owners[2].address),
        run.stdout,
      );
    });

    it("the zero address, the Safe itself and the timelock are refused as owners", async () => {
      for (const [address, what] of [
        ["0x0000000000000000000000000000000000000000", /zero address/],
        [devnet.deployment.safe!, /the Safe itself/],
        [devnet.deployment.timelock!, /the timelock/],
      ] as const) {
        const root = stackRoot(withOwner(address));
        const run = await govIn(root)(["status"]);
        assert.equal(run.code, 1, `${address} accepted`);
        assert.match(run.stderr, /governance\.safe\.owners\[2\]\.address/);
        assert.match(run.stderr, what);
        assert.ok(!existsSync(join(root, "proposals")));
      }
    });
  });

  describe("5. a corrupt proposal file is named and skipped", () => {
    it("status lists the readable proposals and names the unreadable file", async () => {
      const config = devnet.config();
      config.kms.osImages = [...config.kms.osImages, devMeasurement("security-corrupt")];
      const root = stackRoot(config);
      const good = await propose(root, config);
      const text = readFileSync(fileOf(root, good.id), "utf8");
      writeFileSync(join(root, "proposals", "devnet", "9-0badf11e.json"), text.slice(0, 400));
      const run = await govIn(root)(["status"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^${good.id}\\s`, "m"));
      assert.match(run.stdout, /9-0badf11e\.json: unreadable/);
      assert.match(run.stdout, new RegExp(`all carried by proposal ${good.id}`));
      const show = await govIn(root)(["show", "9-0badf11e"]);
      assert.equal(show.code, 1);
      assert.match(show.stderr, /9-0badf11e\.json: unreadable/);
    });
  });

  describe("6. a wrong contract at a configured address names the field, the address and what is there", () => {
    it("no code at the KMS proxy", async () => {
      const config = devnet.config();
      const empty = getAddress("0x00000000000000000000000000000000000c0de0");
      config.kms.proxy = empty;
      const run = await govIn(stackRoot(config))(["status"]);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        new RegExp(
          `kms\\.proxy: ${empty} has no code, not a DstackKms; fix: set kms\\.proxy to the address of a DstackKms`,
        ),
      );
    });

    it("Safe and timelock addresses swapped", async () => {
      const config = devnet.config();
      const gov = config.governance as Extract<StackConfigInput["governance"], { mode: "safe+timelock" }>;
      [gov.safe.address, gov.timelock.address] = [gov.timelock.address, gov.safe.address];
      const run = await govIn(stackRoot(config))(["status"]);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        new RegExp(`governance\\.safe\\.address: ${devnet.deployment.timelock} is a timelock, not a Safe`),
      );
      assert.match(
        run.stderr,
        new RegExp(`governance\\.timelock\\.address: ${devnet.deployment.safe} is a Safe, not a timelock`),
      );
    });

    it("the KMS at an app's address", async () => {
      const config = devnet.config();
      config.apps![0].proxy = devnet.deployment.kms.proxy;
      const run = await govIn(stackRoot(config))(["status"]);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        new RegExp(`apps\\[0\\]\\.proxy: ${devnet.deployment.kms.proxy} is a DstackKms, not a DstackApp`),
      );
    });
  });
});
