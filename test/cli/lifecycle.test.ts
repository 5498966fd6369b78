import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeFunctionData, getAddress, type Hex, type PublicClient } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import { dstackKmsAbi, safeAbi } from "../../src/chain/abis";
import type { StackConfigInput } from "../../src/config/schema";
import { signerPacket } from "../../src/proposal/packet";
import { proposalStatus } from "../../src/proposal/status";
import type { ProposalFile } from "../../src/proposal/types";
import { owners, startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { allOutput, assertNoKeyLeaked, propose, runGov, sendAsImpersonated, stackRoot } from "./harness";
import { osImageAllowed } from "../helpers/kms-reads";

const keysUsed = [
  owners[0].privateKey,
  owners[1].privateKey,
  devAccounts.executor.privateKey,
  devAccounts.outsider.privateKey,
];

describe("gov status / show / sign / approve / execute / audit on a safe+timelock devnet", () => {
  let devnet: TestDevnet;
  let config: StackConfigInput;
  let root: string;
  let client: PublicClient;
  let proposal: ProposalFile;
  const image = devMeasurement("cli-lifecycle-os");
  const driftImage = devMeasurement("cli-lifecycle-drift");

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    config = devnet.config();
    root = stackRoot(config);
    client = devnet.client;
  });
  after(() => devnet.stop());

  const gov = (args: string[], env: Record<string, string> = {}) =>
    runGov([...args, "--stack", "devnet", "--root", root], env);
  const proposalFile = () =>
    JSON.parse(readFileSync(join(root, "proposals", "devnet", `${proposal.id}.json`), "utf8")) as ProposalFile;
  const imageAllowed = (hash: Hex) => osImageAllowed(client, devnet.deployment.kms.proxy, hash);

  it("status of a fresh stack: no proposals, nothing to do", async () => {
    const run = await gov(["status"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /no proposals/);
    assert.match(run.stdout, /Pending plan: none, the chain matches the config/);
  });

  it("status lists a config change that is not proposed yet", async () => {
    config.kms.osImages = [...config.kms.osImages, image];
    proposal = await propose(root, config);
    // Hide the proposal's effect by reading a root with the same config and no proposals dir.
    const bare = stackRoot(config);
    const run = await runGov(["status", "--stack", "devnet", "--root", bare]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Pending plan: 1 call\(s\), not yet proposed \(run pulumi up\)/);
    assert.ok(run.stdout.includes(`KMS: authorize OS image ${image}`));
  });

  it("status shows the proposal with its on-chain status, and that it carries the plan", async () => {
    const run = await gov(["status"]);
    assert.equal(run.code, 0, run.stderr);
    const row = run.stdout.split("\n").find((line) => line.startsWith(proposal.id));
    assert.ok(row, run.stdout);
    assert.deepEqual(row.split(/\s{2,}/), [
      proposal.id,
      proposal.safe.nonce,
      "awaiting signatures (0 of 2)",
      "1",
      "no",
    ]);
    assert.match(run.stdout, new RegExp(`Pending plan: 1 call\\(s\\), all carried by proposal ${proposal.id}`));
  });

  it("show prints the signer packet of the verified file, with the Safe's owners as they are on chain", async () => {
    const run = await gov(["show", proposal.id]);
    assert.equal(run.code, 0, run.stderr);
    const safe = proposal.safe.address;
    const onChain = {
      owners: await client.readContract({ address: safe, abi: safeAbi, functionName: "getOwners" }),
      threshold: Number(await client.readContract({ address: safe, abi: safeAbi, functionName: "getThreshold" })),
    };
    assert.equal(run.stdout, `${signerPacket(proposal, { safe: onChain })}\n`);
    assert.match(run.stdout, /2 of 3 signatures needed \(owners on chain now\)/);
    assert.ok(run.stdout.includes(proposal.safeTxHash));
    assert.ok(run.stdout.includes(`KMS: authorize OS image ${image}`));
  });

  it("show and sign name a missing proposal clearly", async () => {
    const run = await gov(["show", "9-deadbeef"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^gov: no proposal 9-deadbeef in .*proposals\/devnet \(gov status lists them\)\n$/);
    const traversal = await gov(["show", "../../etc/passwd"]);
    assert.equal(traversal.code, 1);
    assert.match(traversal.stderr, /is not a proposal id/);
  });

  it("sign without a key (stdin is not a terminal) fails with what to set", async () => {
    const run = await gov(["sign", proposal.id]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "gov: no key: set GOV_PRIVATE_KEY (or name another variable with --key-env)\n");
    assert.deepEqual(proposalFile().signatures, []);
  });

  it("a malformed key is refused without being echoed", async () => {
    const secret = "0x1234567890abcdef1234567890abcdef";
    const run = await gov(["sign", proposal.id], { GOV_PRIVATE_KEY: secret });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /GOV_PRIVATE_KEY is not a private key/);
    assert.ok(!run.stderr.includes("1234567890abcdef") && !run.stdout.includes("1234567890abcdef"));
  });

  it("sign adds the owner's signature to the file; signing twice changes nothing", async () => {
    const run = await gov(["sign", proposal.id], { GOV_PRIVATE_KEY: owners[0].privateKey });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `signed proposal ${proposal.id} as ${owners[0].address}: 1 of 2 signatures in the file\n`);
    const signed = proposalFile();
    assert.deepEqual(
      signed.signatures.map((s) => s.signer),
      [owners[0].address],
    );
    assert.deepEqual({ ...signed, signatures: [] }, { ...proposal, signatures: [] }, "only the signatures changed");
    assert.ok(
      readFileSync(join(root, "proposals", "devnet", `${proposal.id}.md`), "utf8").includes(
        `Signatures so far: 1 of 2 (${owners[0].address})`,
      ),
    );

    const again = await gov(["sign", proposal.id], { GOV_PRIVATE_KEY: owners[0].privateKey });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already carries .*'s signature: 1 of 2/);
    assert.deepEqual(proposalFile(), signed);
    assert.deepEqual(await proposalStatus(client, proposalFile()), {
      state: "awaiting-signatures",
      have: 1,
      need: 2,
      signers: [owners[0].address],
    });
  });

  it("execute with too few signatures says what it waits for and sends nothing", async () => {
    const nonce = await client.readContract({ address: proposal.safe.address, abi: safeAbi, functionName: "nonce" });
    const run = await gov(["execute", proposal.id], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `gov: proposal ${proposal.id} waits for signatures: 1 of 2; collect more with gov sign or gov approve\n`,
    );
    assert.equal(
      await client.readContract({ address: proposal.safe.address, abi: safeAbi, functionName: "nonce" }),
      nonce,
    );
  });

  it("approve by a non-owner is refused; by an owner (key from --key-env) it is recorded on chain", async () => {
    const outsider = await gov(["approve", proposal.id], { GOV_PRIVATE_KEY: devAccounts.outsider.privateKey });
    assert.equal(outsider.code, 1);
    assert.match(outsider.stderr, new RegExp(`${devAccounts.outsider.address} is not an owner of Safe`));

    const run = await gov(["approve", proposal.id, "--key-env", "SECOND_SIGNER_KEY"], {
      SECOND_SIGNER_KEY: owners[1].privateKey,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(
        `approved proposal ${proposal.id} as ${owners[1].address} in transaction 0x[0-9a-f]{64}: awaiting signatures \\(2 of 2\\)`,
      ),
    );
    assert.equal(
      await client.readContract({
        address: proposal.safe.address,
        abi: safeAbi,
        functionName: "approvedHashes",
        args: [owners[1].address, proposal.safeTxHash],
      }),
      1n,
    );
  });

  it("execute runs the Safe transaction, waits out the timelock, then runs the batch", async () => {
    const queued = await gov(["execute", proposal.id], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stdout, /executed the Safe transaction of proposal .* now queued in the timelock until /);
    assert.equal((await proposalStatus(client, proposal)).state, "scheduled");
    assert.equal(await imageAllowed(image), false);

    const early = await gov(["execute", proposal.id], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
    assert.equal(early.code, 1);
    assert.match(
      early.stderr,
      new RegExp(
        `^gov: proposal ${proposal.id} waits in the timelock until \\d{4}-\\d\\d-\\d\\dT.*Z; run gov execute again then\\n$`,
      ),
    );

    await devnet.warp(BigInt(proposal.timelock!.delay));
    const done = await gov(["execute", proposal.id], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
    assert.equal(done.code, 0, done.stderr);
    assert.match(
      done.stdout,
      new RegExp(
        `executed timelock operation ${proposal.timelock!.operationId} of proposal ${proposal.id} in transaction 0x[0-9a-f]{64}`,
      ),
    );
    assert.equal(await imageAllowed(image), true);

    const again = await gov(["execute", proposal.id], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `proposal ${proposal.id} is already executed\n`);

    const status = await gov(["status"]);
    assert.match(status.stdout, new RegExp(`${proposal.id}\\s+${proposal.safe.nonce}\\s+executed\\s+1\\s+no`));
    assert.match(status.stdout, /Pending plan: none/);
  });

  it("audit attributes the proposal's change and flags a change made behind the tool's back", async () => {
    const timelock = getAddress(devnet.deployment.timelock!);
    const kms = devnet.deployment.kms.proxy;
    const driftTx = await sendAsImpersonated(
      devnet,
      timelock,
      kms,
      encodeFunctionData({ abi: dstackKmsAbi, functionName: "addOsImageHash", args: [driftImage] }),
    );

    const text = await gov(["audit"]);
    assert.equal(text.code, 0, text.stderr);
    const lineOf = (needle: string) => text.stdout.split("\n").find((line) => line.includes(needle));
    assert.match(
      lineOf(`osImageHash=${image}`) ?? "",
      new RegExp(
        `\\s${devAccounts.executor.address}\\s+kms\\s+proposal ${proposal.id}\\s+OsImageHashAdded\\(osImageHash=${image}\\)$`,
      ),
    );
    assert.match(
      lineOf(`osImageHash=${driftImage}`) ?? "",
      new RegExp(`${driftTx}\\s+${timelock}\\s+kms\\s+UNEXPLAINED\\s+OsImageHashAdded\\(osImageHash=${driftImage}\\)$`),
    );

    const run = await gov(["audit", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const audit = JSON.parse(run.stdout) as {
      fromBlock: string;
      unexplained: number;
      events: {
        event: string;
        contract: string;
        txHash: string;
        from: string;
        args: Record<string, string>;
        isChange: boolean;
        proposal: string | null;
        unexplained: boolean;
        time: string;
      }[];
    };
    assert.equal(audit.fromBlock, String(config.network.startBlock));
    const added = (hash: Hex) =>
      audit.events.find((e) => e.event === "OsImageHashAdded" && e.args.osImageHash === hash)!;
    assert.deepEqual(
      { proposal: added(image).proposal, unexplained: added(image).unexplained, from: added(image).from },
      { proposal: proposal.id, unexplained: false, from: devAccounts.executor.address },
    );
    assert.deepEqual(
      {
        proposal: added(driftImage).proposal,
        unexplained: added(driftImage).unexplained,
        from: added(driftImage).from,
        txHash: added(driftImage).txHash,
      },
      { proposal: null, unexplained: true, from: timelock, txHash: driftTx },
    );
    assert.match(added(driftImage).time, /^\d{4}-\d\d-\d\dT.*Z$/);
    // The governance process around the change points at the proposal too.
    for (const name of ["ApproveHash", "ExecutionSuccess", "CallScheduled", "CallExecuted"]) {
      const event = audit.events.find((e) => e.event === name && e.proposal === proposal.id);
      assert.ok(event, `${name} of proposal ${proposal.id}`);
      assert.equal(event.unexplained, false);
    }
    assert.equal(audit.unexplained, audit.events.filter((e) => e.unexplained).length);
    // Every unexplained event is a change, and the proposal-driven one is not among them.
    assert.ok(audit.events.filter((e) => e.unexplained).every((e) => e.isChange && e.proposal === null));

    // The planner sees the same drift: the next plan revokes what was added behind its back.
    const status = await gov(["status"]);
    assert.ok(status.stdout.includes(`KMS: revoke OS image ${driftImage}`), status.stdout);
  });

  it("audit --from-block limits the timeline", async () => {
    const latest = await client.getBlockNumber();
    const run = await gov(["audit", "--json", "--from-block", String(latest)]);
    assert.equal(run.code, 0, run.stderr);
    const audit = JSON.parse(run.stdout) as { events: { event: string; args: Record<string, string> }[] };
    assert.deepEqual(
      audit.events.map((e) => `${e.event}:${e.args.osImageHash}`),
      [`OsImageHashAdded:${driftImage}`],
    );
  });

  it("no key ever appears in any output or written file", () => {
    assert.ok(allOutput.length > 40, "the checks below saw the outputs");
    assertNoKeyLeaked(keysUsed, root);
  });
});
