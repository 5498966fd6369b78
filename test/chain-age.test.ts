import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTestClient, encodeFunctionData, http, publicActions, toHex, zeroHash, type Hex } from "viem";
import { devMeasurement } from "../devnet/deploy";
import { dstackAppAbi, dstackKmsAbi } from "../src/chain/abis";
import { createChainClient } from "../src/chain/client";
import { readLiveState } from "../src/chain/read-state";
import { checkpointPath, fileCheckpointStore } from "../src/chain/scan-checkpoints";
import { scheduledOperations } from "../src/chain/scheduled";
import {
  batchArgs,
  cancelData,
  hashOperationBatch,
  scheduleBatchData,
  type OperationBatch,
} from "../src/proposal/operation";
import { parseStackConfig, type StackConfigInput } from "../src/config/schema";
import { planChanges } from "../src/plan/plan";
import { readStackState } from "../src/reconcile/read-stack";
import { openStack } from "../src/reconcile/stack";
import { startTestDevnet, sendAsImpersonated, type TestDevnet } from "./helpers/devnet";
import { receivedCount, startFaultyRpc, type FaultyRpc } from "./helpers/faulty-rpc";

const FIRST_BLOCK = 5_000_000n;
const CAP = 10_000;

describe("reads of an old chain resume from a checkpoint (anvil --number 5000000, getLogs capped at 10,000 blocks)", () => {
  let devnet: TestDevnet;
  let rpc: FaultyRpc;
  let anvil: ReturnType<typeof testClient>;
  const root = mkdtempSync(join(tmpdir(), "gov-age-"));
  const testClient = (url: string) =>
    createTestClient({ mode: "anvil", transport: http(url), pollingInterval: 50 }).extend(publicActions);

  const addOsImage = (hash: Hex) =>
    sendAsImpersonated(
      devnet,
      devnet.deployment.governanceOwner,
      devnet.deployment.kms.proxy,
      encodeFunctionData({ abi: dstackKmsAbi, functionName: "addOsImageHash", args: [hash] }),
    );
  const removeOsImage = (hash: Hex) =>
    sendAsImpersonated(
      devnet,
      devnet.deployment.governanceOwner,
      devnet.deployment.kms.proxy,
      encodeFunctionData({ abi: dstackKmsAbi, functionName: "removeOsImageHash", args: [hash] }),
    );
  const addComposeHash = (hash: Hex) =>
    sendAsImpersonated(
      devnet,
      devnet.deployment.governanceOwner,
      devnet.deployment.apps[0].proxy,
      encodeFunctionData({ abi: dstackAppAbi, functionName: "addComposeHash", args: [hash] }),
    );

  /** The devnet's own config, through the capping proxy, scanning from block 0 as Pulumi.mainnet.yaml once did. */
  const config = (): StackConfigInput => {
    const c = devnet.config();
    c.network.rpcUrls = [rpc.url];
    c.network.startBlock = 0;
    return c;
  };
  /** One read through a fresh client (as a new process would), counting what reached the RPC. */
  const read = async (rawConfig: StackConfigInput, name = "aged") => {
    const stack = await openStack({ name, root, rawConfig });
    const before = receivedCount(rpc);
    const live = await readStackState(stack);
    return {
      live,
      requests: receivedCount(rpc) - before,
      plan: planChanges(stack.config, live).map((c) => c.description),
      notices: [...stack.scans.notices],
    };
  };

  const startItems = [devMeasurement("age-start-1"), devMeasurement("age-start-2"), devMeasurement("age-start-3")];
  const endItems = [devMeasurement("age-end-1"), devMeasurement("age-end-2")];

  before(async () => {
    devnet = await startTestDevnet("safe+timelock", { anvil: { number: FIRST_BLOCK } });
    rpc = await startFaultyRpc({
      upstream: devnet.anvil.rpcUrl,
      seed: 15,
      failureRate: 0,
      logRangeCap: { blocks: CAP, style: "infura" },
    });
    anvil = testClient(devnet.anvil.rpcUrl);
    for (const item of startItems) await addOsImage(item);
    await anvil.mine({ blocks: 200 });
    for (const item of endItems) await addComposeHash(item);
    await removeOsImage(startItems[0]);
  });
  after(async () => {
    await rpc?.close();
    await devnet?.stop();
  });

  let firstPlan: string[];

  it("the first read scans the whole chain in about ceil(blocks / cap) requests and sees items from both ends", async () => {
    const first = await read(config());
    const head = first.live.blockNumber;
    assert.ok(head > FIRST_BLOCK + 200n);
    const floor = Math.ceil(Number(head + 1n) / CAP);
    assert.ok(
      first.requests <= 1.05 * floor + 15,
      `${first.requests} requests for ${head} blocks (target ≤ ${1.05 * floor + 15})`,
    );
    assert.ok(rpc.refusedRanges >= 1, "the cap was hit and answered with a smaller range");
    assert.ok(first.live.kms.osImages.includes(startItems[1]) && first.live.kms.osImages.includes(startItems[2]));
    assert.ok(!first.live.kms.osImages.includes(startItems[0]), "removed at the end");
    for (const item of endItems) assert.ok(first.live.apps[0].composeHashes.includes(item));
    firstPlan = first.plan;
    assert.ok(
      firstPlan.some((line) => line.includes(endItems[0])),
      firstPlan.join("\n"),
    );
  });

  it("the second read makes at most 15 requests and plans the same", async () => {
    const second = await read(config());
    assert.ok(second.requests <= 15, `second read: ${second.requests} requests`);
    assert.deepEqual(second.plan, firstPlan);
  });

  it("a third read after new Added/Removed events sees them, still from the checkpoint", async () => {
    const added = devMeasurement("age-later");
    await addOsImage(added);
    await removeOsImage(startItems[1]);
    const third = await read(config());
    assert.ok(third.requests <= 15, `third read: ${third.requests} requests`);
    assert.ok(third.live.kms.osImages.includes(added));
    assert.ok(!third.live.kms.osImages.includes(startItems[1]));
  });

  it("a read of an earlier block (a proposal's plannedAtBlock) starts from a newer checkpoint: no event scan", async () => {
    await anvil.mine({ blocks: 1 });
    const planned = (await read(config())).live.blockNumber - 1n;
    const later = devMeasurement("age-after-the-plan");
    await addOsImage(later);
    assert.ok((await read(config())).live.kms.osImages.includes(later));
    // A second operator's copy holds only the newest checkpoint (the older ones were pushed out).
    const [newest] = JSON.parse(readFileSync(checkpointPath(root, "aged"), "utf8")).checkpoints;
    assert.ok(BigInt(newest.block) > planned);
    const checkpoints = `${JSON.stringify({ version: 1, checkpoints: [newest] })}\n`;
    writeFileSync(checkpointPath(root, "replay"), checkpoints);

    const stack = await openStack({ name: "replay", root, rawConfig: config() });
    const [requests, scans] = [receivedCount(rpc), rpc.received.eth_getLogs ?? 0];
    const atPlan = await readStackState(stack, planned);
    assert.equal(rpc.received.eth_getLogs ?? 0, scans, "no eth_getLogs: the checkpoint past the block covers it");
    assert.ok(receivedCount(rpc) - requests <= 15, `${receivedCount(rpc) - requests} requests`);
    assert.ok(!atPlan.kms.osImages.includes(later), "an item of the checkpoint is confirmed at the pinned block");
    const fullScan = await readLiveState(
      createChainClient({ chainId: devnet.anvil.chainId, rpcUrls: [devnet.anvil.rpcUrl] }),
      parseStackConfig(config()),
      { pinnedBlock: planned },
    );
    assert.deepEqual(atPlan, fullScan);
    assert.equal(readFileSync(checkpointPath(root, "replay"), "utf8"), checkpoints, "the newer checkpoint is kept");
  });

  it("a reorged checkpoint is detected and the read equals a full scan", async () => {
    const snapshot = await anvil.snapshot();
    const lost = devMeasurement("age-reorged-away");
    await addOsImage(lost);
    await anvil.mine({ blocks: 5 });
    const onOldBranch = await read(config());
    assert.ok(onOldBranch.live.kms.osImages.includes(lost));
    const checkpointBlock = onOldBranch.live.blockNumber;

    await anvil.revert({ id: snapshot });
    // The other branch adds a different item at heights the stale checkpoint claims to cover.
    const replacing = devMeasurement("age-replacing");
    await addOsImage(replacing);
    await anvil.mine({ blocks: 10 });
    const head = await anvil.getBlockNumber();
    assert.ok(head > checkpointBlock);
    const replacingBlock = (
      await anvil.getLogs({ address: devnet.deployment.kms.proxy, fromBlock: checkpointBlock - 20n })
    ).at(-1)!.blockNumber!;
    assert.ok(replacingBlock <= checkpointBlock, "the new item's event lies inside the stale checkpoint's range");

    const afterReorg = await read(config());
    assert.ok(afterReorg.live.kms.osImages.includes(replacing), "the event under the stale checkpoint was found");
    assert.ok(!afterReorg.live.kms.osImages.includes(lost));
    const fullScan = await readLiveState(
      createChainClient({ chainId: devnet.anvil.chainId, rpcUrls: [devnet.anvil.rpcUrl] }),
      parseStackConfig(config()),
      { pinnedBlock: afterReorg.live.blockNumber },
    );
    assert.deepEqual(afterReorg.live, fullScan);
    const saved = JSON.parse(readFileSync(checkpointPath(root, "aged"), "utf8"));
    assert.equal(saved.checkpoints[0].block, afterReorg.live.blockNumber.toString());
  });

  it("the timelock's CallScheduled scan resumes from its own checkpoint, which keeps only queued operations", async () => {
    const timelock = devnet.deployment.timelock!;
    const store = fileCheckpointStore(checkpointPath(root, "aged", "scheduled"));
    const batch = (salt: number) => ({
      targets: [devnet.deployment.kms.proxy],
      values: [0n],
      payloads: [
        encodeFunctionData({
          abi: dstackKmsAbi,
          functionName: "addOsImageHash",
          args: [devMeasurement(`age-scheduled-${salt}`)],
        }),
      ],
      predecessor: zeroHash,
      salt: toHex(salt, { size: 32 }),
      delay: 3600n,
    });
    const operationId = (op: OperationBatch) => hashOperationBatch(...batchArgs(op));
    const [kept, cancelled] = [batch(1), batch(2)];
    for (const op of [kept, cancelled])
      await sendAsImpersonated(devnet, devnet.deployment.safe!, timelock, scheduleBatchData(op));
    const client = createChainClient({ chainId: devnet.anvil.chainId, rpcUrls: [rpc.url] });
    const scan = async () => {
      const [requests, scans] = [receivedCount(rpc), rpc.received.eth_getLogs ?? 0];
      const head = await anvil.getBlock();
      const queued = await scheduledOperations(client, timelock, { fromBlock: 0n, to: head }, store);
      return { queued, requests: receivedCount(rpc) - requests, scans: (rpc.received.eth_getLogs ?? 0) - scans };
    };

    const first = await scan();
    assert.ok(first.scans >= Math.ceil(Number(FIRST_BLOCK) / CAP), `the first scan covers the chain (${first.scans})`);
    assert.deepEqual(first.queued.map((o) => o.operationId).sort(), [operationId(kept), operationId(cancelled)].sort());
    assert.deepEqual(first.queued.find((o) => o.operationId === operationId(kept))!.calls, [
      { to: kept.targets[0], value: 0n, data: kept.payloads[0] },
    ]);

    await sendAsImpersonated(devnet, devnet.deployment.safe!, timelock, cancelData(operationId(cancelled)));
    const second = await scan();
    // The checkpoint's block, the blocks after it, the operations' timestamps: the pinned block's hash is known already.
    assert.ok(second.requests <= 3 && second.scans <= 1, `${second.requests} requests, ${second.scans} getLogs`);
    assert.deepEqual(
      second.queued.map((o) => o.operationId),
      [operationId(kept)],
    );
    assert.deepEqual(second.queued[0].calls, first.queued.find((o) => o.operationId === operationId(kept))!.calls);
    const saved = store.load()[0];
    assert.deepEqual(
      Object.keys(saved.candidates).map((key) => key.split(":")[0]),
      [operationId(kept)],
      "the cancelled operation is no longer carried",
    );
  });

  it("a scheduled-operations checkpoint with a malformed entry is no checkpoint: the scan starts over", async () => {
    // The previous test left one operation queued and its checkpoint saved.
    const timelock = devnet.deployment.timelock!;
    const valid = fileCheckpointStore(checkpointPath(root, "aged", "scheduled")).load()[0];
    const [key, call] = Object.entries(valid.candidates)[0];
    const path = checkpointPath(root, "malformed", "scheduled");
    const client = createChainClient({ chainId: devnet.anvil.chainId, rpcUrls: [devnet.anvil.rpcUrl] });
    const range = { fromBlock: FIRST_BLOCK, to: await anvil.getBlock() };
    const withoutCheckpoint = await scheduledOperations(client, timelock, range);
    assert.equal(withoutCheckpoint.length, 1);
    const malformed: Record<string, Record<string, string[]>> = {
      "a truncated call": { [key]: call.slice(0, 2) },
      "a call missing its transaction": { [key]: call.slice(0, 4) },
      "a key without its index": { [key.split(":")[0]]: call },
      "a 19-byte address": { [key]: [call[0].slice(0, -2), ...call.slice(1)] },
      "calldata of an odd number of digits": { [key]: [...call.slice(0, 2), `${call[2]}0`, ...call.slice(3)] },
    };
    for (const [what, candidates] of Object.entries(malformed)) {
      writeFileSync(path, JSON.stringify({ version: 1, checkpoints: [{ ...valid, candidates }] }));
      const queued = await scheduledOperations(client, timelock, range, fileCheckpointStore(path));
      assert.deepEqual(queued, withoutCheckpoint, what);
    }
  });

  it("without network.startBlock the deployment block is found and the user told what to write", async () => {
    const raw = config();
    delete raw.network.startBlock;
    const first = await read(raw, "no-start");
    const notice = first.notices.find((n) => n.includes("network.startBlock is not set"));
    assert.ok(notice, first.notices.join("\n"));
    const deployed = BigInt(/startBlock: (\d+)/.exec(notice)![1]);
    assert.ok(deployed >= FIRST_BLOCK);
    assert.notEqual(await anvil.getCode({ address: devnet.deployment.kms.proxy, blockNumber: deployed }), undefined);
    assert.equal(
      await anvil.getCode({ address: devnet.deployment.kms.proxy, blockNumber: deployed - 1n }).catch(() => undefined),
      undefined,
    );
    // The scan starts at the deployment, not at 0: the read sees everything in few requests.
    assert.ok(first.requests <= 80, `${first.requests} requests`);
    const withStart = await read({ ...raw, network: { ...raw.network, startBlock: Number(deployed) } }, "with-start");
    assert.deepEqual(first.live, withStart.live);
    const second = await read(raw, "no-start");
    assert.ok(second.requests <= 15, `second read without startBlock: ${second.requests} requests`);
  });
});
