import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getAddress, type Hex, type PublicClient } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { DEVNET_TIMELOCK_EXPIRATION, devMeasurement } from "../../devnet/deploy";
import { timelockAbi } from "../../src/chain/abis";
import type { StackConfigInput } from "../../src/config/schema";
import { readProposal } from "../../src/proposal/files";
import { proposalStatus } from "../../src/proposal/status";
import type { ProposalFile } from "../../src/proposal/types";
import { verifyProposal } from "../../src/proposal/verify";
import { owners, startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { assertNoKeyLeaked, filesUnder, propose, runGov, stackRoot } from "./harness";
import { osImageAllowed } from "../helpers/kms-reads";

describe("gov sign refuses tampered files; execute refuses expired operations; cancel", () => {
  let devnet: TestDevnet;
  let config: StackConfigInput;
  let root: string;
  let client: PublicClient;
  let proposal: ProposalFile;
  const image = devMeasurement("cli-expiring-os");

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    config = devnet.config();
    root = stackRoot(config);
    client = devnet.client;
    config.kms.osImages = [...config.kms.osImages, image];
    proposal = await propose(root, config);
  });
  after(() => devnet.stop());

  const gov = (args: string[], env: Record<string, string> = {}) =>
    runGov([...args, "--stack", "devnet", "--root", root], env);
  const signAs = (id: string, key: Hex) => gov(["sign", id], { GOV_PRIVATE_KEY: key });
  const operationState = (id: Hex) =>
    client.readContract({
      address: devnet.deployment.timelock!,
      abi: timelockAbi,
      functionName: "getOperationState",
      args: [id],
    });

  it("sign and show refuse a file with one payload byte changed, and leave every file untouched", async () => {
    const path = join(root, "proposals", "devnet", `${proposal.id}.json`);
    const original = readFileSync(path, "utf8");
    const payload = proposal.timelock!.payloads[0];
    // The last byte of the authorized hash: 0x..a6 → 0x..a7 (or back), still valid JSON and hex.
    const last = payload.slice(-2);
    const changedByte = (parseInt(last, 16) ^ 1).toString(16).padStart(2, "0");
    const tampered = original.replace(payload, `${payload.slice(0, -2)}${changedByte}`);
    assert.notEqual(tampered, original);
    writeFileSync(path, tampered);
    const before = filesUnder(root);

    const sign = await signAs(proposal.id, owners[0].privateKey);
    assert.equal(sign.code, 1);
    assert.equal(
      sign.stderr,
      `gov: proposal ${proposal.id} does not match its calls: timelock call 0 differs from "KMS: authorize OS image ${image}"; refusing it (regenerate it with pulumi up)\n`,
    );
    assert.equal(sign.stdout, "");
    assert.deepEqual(filesUnder(root), before, "no file was written");

    const show = await gov(["show", proposal.id]);
    assert.equal(show.code, 1);
    assert.match(show.stderr, /does not match its calls/);

    writeFileSync(path, original);
  });

  it("cancel refuses an operation that is not queued yet", async () => {
    const run = await gov(["cancel", proposal.id]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `gov: proposal ${proposal.id} is awaiting signatures (0 of 2): only a scheduled, ready or expired timelock operation can be cancelled\n`,
    );
  });

  it("execute refuses an expired operation and sends nothing", async () => {
    for (const owner of [owners[0], owners[1]]) assert.equal((await signAs(proposal.id, owner.privateKey)).code, 0);
    const scheduled = await gov(["execute", proposal.id], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
    assert.equal(scheduled.code, 0, scheduled.stderr);
    assert.equal(await operationState(proposal.timelock!.operationId), 1, "waiting");

    await devnet.warp(BigInt(proposal.timelock!.delay) + DEVNET_TIMELOCK_EXPIRATION + 1n);
    const status = await proposalStatus(client, proposal);
    assert.equal(status.state, "expired");
    const blockBefore = await client.getBlockNumber();
    const run = await gov(["execute", proposal.id], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
    assert.equal(run.code, 1);
    const expiredAt = new Date(Number((status as { expiredAt: bigint }).expiredAt) * 1000).toISOString();
    assert.equal(
      run.stderr,
      `gov: proposal ${proposal.id} expired at ${expiredAt}, it can only be cancelled (gov cancel ${proposal.id}); run pulumi up to re-propose\n`,
    );
    assert.equal(await client.getBlockNumber(), blockBefore, "no transaction was sent");
    assert.equal(await osImageAllowed(client, devnet.deployment.kms.proxy, image), false);
  });

  it("cancel writes a proposal that, once signed and executed, leaves the operation cancelled", async () => {
    const run = await gov(["cancel", proposal.id]);
    assert.equal(run.code, 0, run.stderr);
    const match = new RegExp(
      `^wrote proposal (\\S+): cancels timelock operation ${proposal.timelock!.operationId} of proposal ${proposal.id}$`,
      "m",
    ).exec(run.stdout);
    assert.ok(match, run.stdout);
    const cancelId = match[1];
    const cancel = await readProposal(root, "devnet", cancelId);
    verifyProposal(cancel);
    assert.deepEqual(
      {
        route: cancel.route,
        calls: cancel.calls,
        targets: cancel.timelock!.targets,
        cancels: cancel.timelock!.cancels,
        nonce: cancel.safe.nonce,
        to: cancel.safeTx.to,
        signatures: cancel.signatures,
      },
      {
        route: "safe+timelock",
        calls: [],
        targets: [],
        cancels: [proposal.timelock!.operationId],
        nonce: "1",
        to: getAddress(devnet.deployment.timelock!),
        signatures: [],
      },
    );
    const packet = readFileSync(join(root, "proposals", "devnet", `${cancelId}.md`), "utf8");
    assert.ok(
      packet.includes(`cancels operation \`${proposal.timelock!.operationId}\` (proposal ${proposal.id})`),
      packet,
    );
    assert.ok(packet.includes("re-scheduled by this proposal: NO"), packet);

    const snapshot = filesUnder(root);
    const again = await gov(["cancel", proposal.id]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(
      again.stdout,
      `proposal ${cancelId} already cancels operation ${proposal.timelock!.operationId} of proposal ${proposal.id}\n`,
    );
    assert.deepEqual(filesUnder(root), snapshot);

    for (const owner of [owners[0], owners[2]]) assert.equal((await signAs(cancelId, owner.privateKey)).code, 0);
    const executed = await gov(["execute", cancelId], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
    assert.equal(executed.code, 0, executed.stderr);
    assert.match(
      executed.stdout,
      new RegExp(`executed the Safe transaction of proposal ${cancelId} in transaction 0x[0-9a-f]{64}: now executed`),
    );

    assert.equal(await operationState(proposal.timelock!.operationId), 0, "the operation is gone from the timelock");
    assert.equal((await proposalStatus(client, proposal)).state, "cancelled");
    const status = await gov(["status"]);
    assert.match(status.stdout, new RegExp(`${proposal.id}\\s+0\\s+cancelled\\s+1\\s+no`));
    assert.match(status.stdout, new RegExp(`${cancelId}\\s+1\\s+executed\\s+0\\s+no`));
    // The change the cancelled proposal carried is pending again, for pulumi up to re-propose.
    assert.match(status.stdout, /Pending plan: 1 call\(s\), not yet proposed \(run pulumi up\)/);

    const cancelled = await gov(["cancel", proposal.id]);
    assert.equal(cancelled.code, 1);
    assert.match(
      cancelled.stderr,
      /is cancelled: only a scheduled, ready or expired timelock operation can be cancelled/,
    );
    const executeCancelled = await gov(["execute", proposal.id], { GOV_PRIVATE_KEY: devAccounts.executor.privateKey });
    assert.equal(executeCancelled.stderr, `gov: proposal ${proposal.id} is cancelled: there is nothing to execute\n`);
  });

  it("cancel refuses a proposal whose operation id does not match its batch", async () => {
    const path = join(root, "proposals", "devnet", `${proposal.id}.json`);
    const original = readFileSync(path, "utf8");
    writeFileSync(path, original.replace(proposal.timelock!.operationId, `0x${"ab".repeat(32)}`));
    const run = await gov(["cancel", proposal.id]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /the timelock operation id is not the hash of its batch; refusing it/);
    writeFileSync(path, original);
  });

  it("no key appears in any output or written file", () => {
    assertNoKeyLeaked([...owners.map((o) => o.privateKey), devAccounts.executor.privateKey], root);
  });
});
