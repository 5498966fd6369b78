import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createTestClient, http, numberToHex } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import { safeAbi } from "../../src/chain/abis";
import { createChainClient } from "../../src/chain/client";
import type { StackConfigInput } from "../../src/config/schema";
import { approveProposal } from "../../src/proposal/execute";
import { listProposals } from "../../src/proposal/files";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { startFaultyRpc, type FaultyRpc, type JsonRpcCall } from "../helpers/faulty-rpc";
import { PulumiProject } from "../helpers/pulumi-project";

/** What one Pulumi command asked the RPC. */
interface Phase {
  total: number;
  byMethod: Record<string, number>;
  /** Live-state reads at the head: each starts with the latest block. */
  headReads: number;
  /** Event scans over the governed proxies: one per read at a block past the last checkpoint. */
  scans: number;
  /** Blocks named by number in eth_getBlockByNumber. */
  pinnedBlocks: Set<string>;
}

describe("one chain read per Pulumi phase (real CLI, requests counted at a proxy in front of the devnet)", () => {
  let devnet: TestDevnet;
  let rpc: FaultyRpc;
  let project: PulumiProject;
  let config: StackConfigInput;

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    const anvil = createTestClient({ mode: "anvil", transport: http(devnet.anvil.rpcUrl) });
    // A live chain makes blocks while a run reads: every eth_chainId (each process opening the stack) mines one first.
    rpc = await startFaultyRpc({
      upstream: devnet.anvil.rpcUrl,
      seed: 15,
      failureRate: 0,
      intercept: async (call) => {
        if (call.method === "eth_chainId") await anvil.mine({ blocks: 1 });
        return call;
      },
    });
    project = new PulumiProject();
    config = devnet.config();
    config.network.rpcUrls = [rpc.url];
    await project.configure(config, { proposerKey: devAccounts.safeOwners[0].privateKey });
    const adopt = await project.up();
    assert.equal(adopt.code, 0, adopt.stdout + adopt.stderr);
  });
  after(async () => {
    await rpc?.close();
    await devnet?.stop();
  });

  const proxies = () => [devnet.deployment.kms.proxy, ...devnet.deployment.apps.map((a) => a.proxy)];
  async function counted(...args: string[]): Promise<Phase> {
    const start = rpc.forwarded.length;
    const result = await project.run(...args);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const calls: JsonRpcCall[] = rpc.forwarded.slice(start);
    const byMethod: Record<string, number> = {};
    for (const c of calls) byMethod[c.method] = (byMethod[c.method] ?? 0) + 1;
    const blocks = calls.filter((c) => c.method === "eth_getBlockByNumber").map((c) => String(c.params?.[0]));
    const scanned = (c: JsonRpcCall) => {
      const { address } = (c.params?.[0] ?? {}) as { address?: string | string[] };
      return [address ?? []].flat().some((a) => a.toLowerCase() === proxies()[0].toLowerCase());
    };
    return {
      total: calls.length,
      byMethod,
      headReads: blocks.filter((b) => b === "latest").length,
      scans: calls.filter((c) => c.method === "eth_getLogs" && scanned(c)).length,
      pinnedBlocks: new Set(blocks.filter((b) => b !== "latest")),
    };
  }
  const newestCheckpoint = () => {
    const file = JSON.parse(readFileSync(join(project.dir, "checkpoints", `${project.stack}.json`), "utf8"));
    return numberToHex(BigInt((file as { checkpoints: { block: string }[] }).checkpoints[0].block));
  };
  const describePhase = (name: string, p: Phase) => `${name}: ${p.total} requests ${JSON.stringify(p.byMethod)}`;

  it("pulumi refresh reads the chain once for its 8 governed resources", async (t) => {
    const refresh = await counted("refresh", "--yes", "--skip-preview");
    t.diagnostic(describePhase("refresh", refresh));
    assert.equal(refresh.byMethod.eth_chainId, 1, "the stack is opened once");
    assert.equal(refresh.headReads, 1, "one read at the head");
    assert.equal(refresh.scans, 1, "one event scan");
  });

  it("pulumi up: the program reads once, the provider once more at the program's block (no scan), the proposal is planned there", async (t) => {
    config.kms.osImages = [...config.kms.osImages, devMeasurement("one-read-os")];
    await project.configure(config);
    const checkpoint = newestCheckpoint();
    const up = await counted("up", "--yes", "--skip-preview");
    t.diagnostic(describePhase("up (writes a proposal)", up));
    const proposal = (await listProposals(project.dir, project.stack)).at(-1);
    assert.ok(proposal, "up wrote the proposal");
    assert.equal(up.headReads, 1, "only the program reads the head");
    assert.equal(up.scans, 1, "only the program scans events: the provider resumes from the checkpoint at its block");
    assert.deepEqual(
      [...up.pinnedBlocks].sort(),
      [checkpoint, numberToHex(BigInt(proposal.plannedAtBlock))].sort(),
      "reads name one block, the proposal's (and the program confirms its checkpoint's)",
    );
  });

  it("pulumi up that sends a transaction reads the head before it and again after it", async (t) => {
    const proposal = (await listProposals(project.dir, project.stack)).at(-1)!;
    const client = createChainClient({ chainId: devnet.anvil.chainId, rpcUrls: [devnet.anvil.rpcUrl] });
    await approveProposal(client, devnet.wallet(devAccounts.safeOwners[1].privateKey), proposal);
    await project.configure(config, { executorKey: devAccounts.executor.privateKey });
    const nonce = await client.readContract({ address: devnet.deployment.safe!, abi: safeAbi, functionName: "nonce" });
    const up = await counted("up", "--yes", "--skip-preview");
    t.diagnostic(describePhase("up (executes the Safe transaction)", up));
    assert.equal(
      await client.readContract({ address: devnet.deployment.safe!, abi: safeAbi, functionName: "nonce" }),
      nonce + 1n,
      "the executor key ran the Safe transaction",
    );
    assert.equal(up.headReads, 3, "the program's read, the provider's before executing and after it");
    assert.equal(up.scans, 3, "each of them scans the blocks made since the last");
  });
});
