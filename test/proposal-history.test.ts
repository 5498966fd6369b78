import assert from "node:assert/strict";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTestClient, http } from "viem";
import { trackedProposals } from "../cli/stack";
import { devAccounts } from "../devnet/accounts";
import { devMeasurement } from "../devnet/deploy";
import type { StackConfigInput } from "../src/config/schema";
import { approveProposal, executeSafeTransaction } from "../src/proposal/execute";
import type { ProposalFile } from "../src/proposal/types";
import { inspectStack, proposeChanges } from "../src/reconcile/reconcile";
import { openStack } from "../src/reconcile/stack";
import { owners, startTestDevnet, type TestDevnet } from "./helpers/devnet";
import { startFaultyRpc, type FaultyRpc } from "./helpers/faulty-rpc";

/** A getLogs cap far below the blocks mined since the proposals: mining a real provider's 10,000 blocks takes anvil minutes. */
const CAP = 100;
const MINED = 350;

const keyOf = (address: string) =>
  [...devAccounts.safeOwners, ...devAccounts.spareOwners].find((a) => a.address === address)!.privateKey;

describe(`proposal statuses when the proposals are older than the RPC's getLogs cap (${CAP} blocks, ${MINED} mined since)`, () => {
  let devnet: TestDevnet;
  let capped: FaultyRpc;
  let executed: ProposalFile;
  let pending: ProposalFile;
  const root = mkdtempSync(join(tmpdir(), "gov-history-"));
  const config = (rpcUrl: string, osImages: number): StackConfigInput => {
    const c = devnet.config();
    c.network.rpcUrls = [rpcUrl];
    c.kms.osImages = [
      ...(c.kms.osImages as string[]),
      ...Array.from({ length: osImages }, (_, i) => devMeasurement(`history-${i}`)),
    ];
    return c;
  };
  const open = (rpcUrl: string, osImages: number, at = root) =>
    openStack({ name: "history", root: at, rawConfig: config(rpcUrl, osImages) });

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    // One proposal through the Safe (queued in the timelock), then one awaiting signatures.
    const stack = await open(devnet.anvil.rpcUrl, 1);
    const inspection = await inspectStack(stack);
    executed = (await proposeChanges(stack, inspection, owners[0].privateKey))!;
    const others = inspection.live.safe!.owners.filter((o) => o !== owners[0].address);
    for (const owner of others.slice(0, inspection.live.safe!.threshold - 1))
      await approveProposal(stack.client, devnet.wallet(keyOf(owner)), executed);
    await executeSafeTransaction(stack.client, devnet.wallet(devAccounts.executor.privateKey), executed);
    const second = await open(devnet.anvil.rpcUrl, 2);
    pending = (await proposeChanges(second, await inspectStack(second), owners[0].privateKey))!;
    await createTestClient({ mode: "anvil", transport: http(devnet.anvil.rpcUrl) }).mine({ blocks: MINED });
    capped = await startFaultyRpc({
      upstream: devnet.anvil.rpcUrl,
      seed: 1,
      failureRate: 0,
      logRangeCap: { blocks: CAP, style: "infura" },
    });
  });
  after(async () => {
    await capped?.close();
    await devnet.stop();
  });

  it("inspects through the capped RPC with the statuses an uncapped one gives", async () => {
    // The reference: the same proposals read through the uncapped RPC, from scratch (no checkpoints).
    const fresh = mkdtempSync(join(tmpdir(), "gov-history-reference-"));
    cpSync(join(root, "proposals"), join(fresh, "proposals"), { recursive: true });
    const reference = await inspectStack(await open(devnet.anvil.rpcUrl, 2, fresh));
    const statuses = (i: typeof reference) => i.proposals.map((t) => [t.proposal.id, t.status]);
    assert.deepEqual(statuses(reference), [
      [executed.id, statuses(reference)[0][1]],
      [pending.id, { state: "awaiting-signatures", have: 1, need: 2, signers: [owners[0].address] }],
    ]);
    assert.match((reference.proposals[0].status as { state: string }).state, /^(scheduled|ready)$/);

    const logScans = () => capped.received.eth_getLogs ?? 0;
    const inspection = await inspectStack(await open(capped.url, 2));
    assert.deepEqual(statuses(inspection), statuses(reference));
    assert.deepEqual(inspection.uncovered, []);
    assert.ok(capped.refusedRanges > 0, "the RPC refused the ranges above its cap");

    // The Safe's executions resume from their checkpoint: the next inspection scans only the new blocks.
    await createTestClient({ mode: "anvil", transport: http(devnet.anvil.rpcUrl) }).mine({ blocks: 3 });
    const before = logScans();
    const again = await inspectStack(await open(capped.url, 2));
    assert.deepEqual(statuses(again), statuses(reference));
    assert.equal(logScans() - before, 2, "one getLogs for the sets, one for the Safe's executions");

    // gov status/show/sign list the same statuses (read at one block, from the same checkpoint).
    const listed = await trackedProposals(await open(capped.url, 2));
    assert.deepEqual(
      listed.map((t) => [t.proposal.id, t.status]),
      statuses(again),
    );
  });
});
