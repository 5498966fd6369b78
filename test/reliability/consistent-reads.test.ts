import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTestClient, encodeFunctionData, http, numberToHex, type PublicClient } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import { dstackAppAbi, dstackKmsAbi } from "../../src/chain/abis";
import { createChainClient } from "../../src/chain/client";
import type { StackConfigInput } from "../../src/config/schema";
import { writeStackFile } from "../../src/config/stack-file";
import { approveProposal } from "../../src/proposal/execute";
import { proposalDir } from "../../src/proposal/files";
import { inspectStack, proposeChanges, type Inspection } from "../../src/reconcile/reconcile";
import { openStack } from "../../src/reconcile/stack";
import { sendAsImpersonated } from "../cli/harness";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { startFaultyRpc, type JsonRpcCall } from "../helpers/faulty-rpc";

const proposerKey = devAccounts.safeOwners[0].privateKey;

/** A stack over the given RPC URLs, with its own directory for proposal files. */
async function openAt(config: StackConfigInput, rpcUrls: string[], root = mkdtempSync(join(tmpdir(), "gov-reads-"))) {
  const raw = { ...config, network: { ...config.network, rpcUrls } };
  writeStackFile(root, "devnet", raw);
  return openStack({ name: "devnet", root, rawConfig: raw });
}

function filesOf(root: string): Map<string, string> {
  const dir = proposalDir(root, "devnet");
  return new Map(
    readdirSync(dir)
      .sort()
      .map((name) => [name, readFileSync(join(dir, name), "utf8")]),
  );
}

/** The block a state read names (a number, a tag or `{ blockHash }`), or undefined for reads that name none (eth_chainId). */
function blockParam(call: JsonRpcCall): unknown {
  const params = call.params ?? [];
  switch (call.method) {
    case "eth_call":
    case "eth_getCode":
    case "eth_getBalance":
      return params[1];
    case "eth_getStorageAt":
      return params[2];
    case "eth_getBlockByNumber":
      return params[0];
    case "eth_getLogs":
      return (params[0] as { toBlock?: unknown }).toBlock;
    default:
      return undefined;
  }
}

const summary = (i: Inspection) => ({
  block: i.live.blockNumber,
  calls: i.calls.map((c) => c.description),
  proposals: i.proposals.map((t) => [t.proposal.id, t.status]),
});

describe("consistent reads: every read of a run names one pinned block", () => {
  let devnet: TestDevnet;
  let anvil: ReturnType<typeof createTestClient>;
  let client: PublicClient;

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    anvil = createTestClient({ mode: "anvil", transport: http(devnet.anvil.rpcUrl) });
    client = devnet.client;
  });
  after(() => devnet.stop());

  const timelock = () => devnet.deployment.timelock!;
  const addOsImageBehindTheBack = (label: string) =>
    sendAsImpersonated(
      devnet,
      timelock(),
      devnet.deployment.kms.proxy,
      encodeFunctionData({ abi: dstackKmsAbi, functionName: "addOsImageHash", args: [devMeasurement(label)] }),
    );

  it("the chain goes backwards (anvil snapshot revert): the next plan is the reverted chain's", async () => {
    const stack = await openAt(devnet.config(), [devnet.anvil.rpcUrl]);
    const snapshot = await anvil.snapshot();
    const before = await inspectStack(stack);
    assert.deepEqual(before.calls, []);

    await addOsImageBehindTheBack("rogue-before-revert");
    const drifted = await inspectStack(stack);
    assert.deepEqual(
      drifted.calls.map((c) => c.description),
      [`KMS: revoke OS image ${devMeasurement("rogue-before-revert")}`],
    );
    assert.ok(drifted.live.blockNumber > before.live.blockNumber);

    await anvil.revert({ id: snapshot });
    const reverted = await inspectStack(stack);
    assert.equal(reverted.live.blockNumber, before.live.blockNumber, "the head went backwards");
    assert.deepEqual(
      reverted.live,
      before.live,
      "the reverted chain's state, nothing cached from the abandoned blocks",
    );
    assert.deepEqual(reverted.calls, []);
  });

  it("the chain goes backwards in the middle of a run: the run fails instead of mixing blocks; the rerun plans the reverted chain", async () => {
    const snapshot = await anvil.snapshot();
    await addOsImageBehindTheBack("rogue-mid-run");
    let reverted = false;
    // The head is pinned first; the revert happens as the first state read arrives.
    const proxy = await startFaultyRpc({
      upstream: devnet.anvil.rpcUrl,
      seed: 1,
      failureRate: 0,
      intercept: async (call) => {
        if (call.method === "eth_call" && !reverted) {
          reverted = true;
          await anvil.revert({ id: snapshot });
        }
        return call;
      },
    });
    try {
      const stack = await openAt(devnet.config(), [proxy.url]);
      await assert.rejects(
        inspectStack(stack),
        /BlockOutOfRange|block height|no longer served by the RPC: a reorg replaced it/,
      );
      const rerun = await inspectStack(stack);
      assert.deepEqual(rerun.calls, [], "the rogue change went with the reverted blocks");
    } finally {
      await proxy.close();
    }
  });

  it("a lagging RPC (serves an old head, fresh state for 'latest'): inspection and proposal are exactly those of the old block", async (t) => {
    const config = devnet.config();
    config.kms.osImages = [...config.kms.osImages, devMeasurement("lag-os")];

    // Reference: planned and proposed while the head is N.
    const reference = await openAt(config, [devnet.anvil.rpcUrl]);
    const atN = await inspectStack(reference);
    const proposal = (await proposeChanges(reference, atN, proposerKey))!;
    const trackedAtN = await inspectStack(reference);
    const lagBlock = atN.live.blockNumber;
    const lagHex = numberToHex(lagBlock);
    // State reads name block N by its hash (EIP-1898), logs and blocks by its number.
    const namesN = (block: unknown) =>
      block === lagHex || (block as { blockHash?: string } | undefined)?.blockHash === atN.live.blockHash;

    // The chain moves on: a rogue measurement, an upgrade behind the back, a second approval.
    await addOsImageBehindTheBack("rogue-while-lagging");
    await sendAsImpersonated(
      devnet,
      timelock(),
      devnet.deployment.apps[0].proxy,
      encodeFunctionData({
        abi: dstackAppAbi,
        functionName: "upgradeToAndCall",
        args: [devnet.deployment.appV2Implementation, "0x"],
      }),
    );
    await approveProposal(client, devnet.wallet(devAccounts.safeOwners[1].privateKey), proposal);
    const fresh = await inspectStack(reference);
    assert.notDeepEqual(summary(fresh), summary(trackedAtN), "reads at the fresh head would plan differently");

    // A node that reports head N but forwards everything else: any read that says "latest" sees the fresh chain.
    const lagging = await startFaultyRpc({
      upstream: devnet.anvil.rpcUrl,
      seed: 1,
      failureRate: 0,
      intercept: (call) => {
        if (call.method === "eth_blockNumber") return { result: lagHex };
        if (call.method === "eth_getBlockByNumber" && call.params?.[0] === "latest")
          return { ...call, params: [lagHex, ...call.params.slice(1)] };
        return call;
      },
    });
    try {
      // With the reference's directory (its proposal in flight): status reads are pinned too.
      const tracked = await inspectStack({
        ...reference,
        client: createChainClient({ chainId: devnet.anvil.chainId, rpcUrls: [lagging.url] }),
      });
      assert.deepEqual(
        summary(tracked),
        summary(trackedAtN),
        "the proposal is awaiting 1 of 2 at N, though approved twice at the head",
      );
      assert.deepEqual(tracked.live, atN.live, "every value (owners, sets, implementations, timestamp) is block N's");

      // In a fresh directory the same run writes the same proposal, byte for byte.
      const laggingStack = await openAt(config, [lagging.url]);
      const inspection = await inspectStack(laggingStack);
      assert.deepEqual(summary(inspection), summary(atN));
      const inspectionReads = lagging.forwarded.length;
      await proposeChanges(laggingStack, inspection, proposerKey);
      assert.deepEqual(filesOf(laggingStack.root), filesOf(reference.root));

      const engineReads = lagging.forwarded.slice(0, inspectionReads);
      assert.deepEqual(
        engineReads.filter((call) => blockParam(call) !== undefined && !namesN(blockParam(call))),
        [],
        "inspection reads (state, logs, proposal status) name block N and nothing else",
      );
      assert.ok(engineReads.some((call) => call.method === "eth_getLogs"));
      // protocol-kit reads the Safe's code and version at "latest": facts that do not depend on the block.
      const latestReads = lagging.forwarded.slice(inspectionReads).filter((call) => blockParam(call) === "latest");
      t.diagnostic(
        `lagging RPC: ${engineReads.length} inspection reads, all at block N; ${latestReads.length} protocol-kit reads at "latest"`,
      );
      assert.ok(
        latestReads.every(
          (call) =>
            call.method === "eth_getCode" ||
            (call.method === "eth_call" && (call.params![0] as { to: string }).to === proposal.safe.address),
        ),
        JSON.stringify(latestReads),
      );
    } finally {
      await lagging.close();
    }
  });
});
