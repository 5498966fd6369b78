import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Hex } from "viem";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import { assertChainId, createChainClient } from "../../src/chain/client";
import { writeStackFile } from "../../src/config/stack-file";
import type { StackConfigInput } from "../../src/config/schema";
import { proposalDir } from "../../src/proposal/files";
import { inspectStack, proposeChanges } from "../../src/reconcile/reconcile";
import { openStack } from "../../src/reconcile/stack";
import { startTestDevnet, type TestDevnet } from "../helpers/devnet";
import {
  emptyCounts,
  failedCount,
  FAILURES,
  startFaultyRpc,
  type FaultyRpc,
  type Outcome,
} from "../helpers/faulty-rpc";
import { PulumiProject } from "../helpers/pulumi-project";
import { proposalBytes } from "./harness";

const proposerKey = devAccounts.safeOwners[0].privateKey;
const FAILURE_RATE = 0.3;
/** Engine runs, each through two fresh proxies with their own seeds. */
const ENGINE_RUNS = 20;
/** Short, so a request the proxy never answers costs a fraction of a second. */
const CLIENT_TIMEOUT_MS = 250;

/** What a plan is made of: the same calls, byte for byte, in the same order. */
type PlanShape = { description: string; to: string; data: Hex; sender: string }[];

/** A config whose plan touches the timelock batch (KMS, app) and the Safe itself (threshold). */
function changedConfig(devnet: TestDevnet): StackConfigInput {
  const config = devnet.config();
  config.kms.osImages = [...config.kms.osImages, devMeasurement("flaky-os")];
  config.apps![0].composeHashes = [...config.apps![0].composeHashes, devMeasurement("flaky-compose")];
  if (config.governance.mode !== "safe+timelock") throw new Error("the flaky-RPC tests use a safe+timelock devnet");
  config.governance.safe.threshold = 3;
  return config;
}

function filesOf(root: string): Map<string, string> {
  const dir = proposalDir(root, "devnet");
  return new Map(
    readdirSync(dir)
      .sort()
      .map((name) => [name, readFileSync(join(dir, name), "utf8")]),
  );
}

/** One engine pass (what preview shows, then what up writes) over the given RPC URLs. */
async function planAndPropose(config: StackConfigInput, rpcUrls: string[], beforeReads: () => void = () => {}) {
  const raw = { ...config, network: { ...config.network, rpcUrls } };
  const root = mkdtempSync(join(tmpdir(), "gov-flaky-"));
  writeStackFile(root, "devnet", raw);
  const opened = await openStack({ name: "devnet", root, rawConfig: raw });
  const stack = {
    ...opened,
    client: createChainClient({ chainId: raw.network.chainId, rpcUrls, timeoutMs: CLIENT_TIMEOUT_MS }),
  };
  beforeReads();
  await assertChainId(stack.client, raw.network.chainId);
  const inspection = await inspectStack(stack);
  // 20 fork proofs through 30% faults would take minutes; the CLI test below runs the proof through them.
  const proposal = await proposeChanges(stack, inspection, proposerKey, { proveConvergence: false });
  const plan: PlanShape = inspection.calls.map((c) => ({
    description: c.description,
    to: c.to,
    data: c.data,
    sender: c.sender,
  }));
  return { plan, proposal, files: filesOf(root) };
}

function addCounts(total: Record<Outcome, number>, proxies: FaultyRpc[]): void {
  for (const proxy of proxies)
    for (const [outcome, count] of Object.entries(proxy.counts)) total[outcome as Outcome] += count;
}

function describeCounts(counts: Record<Outcome, number>): string {
  const requests = Object.values(counts).reduce((a, b) => a + b, 0);
  return `${requests} requests, ${failedCount(counts)} failed (${FAILURES.map((f) => `${f} ${counts[f]}`).join(", ")}), ${counts.slow} slow`;
}

describe("flaky RPC: 30% of requests fail, the plan and the proposal are those of a clean run", () => {
  let devnet: TestDevnet;
  let config: StackConfigInput;
  let clean: Awaited<ReturnType<typeof planAndPropose>>;

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    config = changedConfig(devnet);
    clean = await planAndPropose(config, [devnet.anvil.rpcUrl]);
    assert.equal(clean.plan.length, 3, "the reference plan has the three changes");
    assert.equal(clean.files.size, 3);
  });
  after(() => devnet.stop());

  it(`engine, ${ENGINE_RUNS} runs over two faulty URLs (500, 429, timeout, dropped connection, malformed JSON): identical plan and files`, async (t) => {
    const total = emptyCounts();
    for (let run = 0; run < ENGINE_RUNS; run++) {
      const rpcs = await Promise.all(
        [1, 2].map((n) =>
          startFaultyRpc({
            upstream: devnet.anvil.rpcUrl,
            seed: 1000 + run * 2 + n,
            failureRate: 0,
            slowRate: 0.1,
            slowMs: 50,
          }),
        ),
      );
      try {
        // openStack (config validation) runs clean; every read from assertChainId on is faulty.
        const faulty = await planAndPropose(
          config,
          rpcs.map((p) => p.url),
          () => rpcs.forEach((p) => p.setFailureRate(FAILURE_RATE)),
        );
        assert.deepEqual(faulty.plan, clean.plan, `run ${run}: the plan`);
        assert.deepEqual(faulty.files, clean.files, `run ${run}: the proposal files, byte for byte`);
      } finally {
        addCounts(total, rpcs);
        await Promise.all(rpcs.map((p) => p.close()));
      }
    }
    assert.ok(
      failedCount(total) > 0 && FAILURES.every((f) => total[f] > 0),
      `every kind of fault was injected: ${describeCounts(total)}`,
    );
    t.diagnostic(`engine: ${ENGINE_RUNS} runs, ${describeCounts(total)}; all recovered`);
  });

  it("pulumi preview and up (real CLI) over two faulty URLs: same preview steps, same outputs, same proposal files", async (t) => {
    // The CLI keeps the default 15 s request timeout, so this run injects no timeouts (the engine run does).
    const failures = FAILURES.filter((f) => f !== "timeout");
    const rpcs = await Promise.all(
      [1, 2].map((n) =>
        startFaultyRpc({
          upstream: devnet.anvil.rpcUrl,
          seed: 2000 + n,
          failureRate: FAILURE_RATE,
          failures,
          slowRate: 0.1,
          slowMs: 200,
        }),
      ),
    );
    try {
      const reference = await previewAndUp(config, { proposerKey });
      const faulty = await previewAndUp(
        { ...config, network: { ...config.network, rpcUrls: rpcs.map((p) => p.url) } },
        { proposerKey },
      );
      assert.deepEqual(faulty.preview, reference.preview, "preview: the same steps with the same pending changes");
      assert.deepEqual(faulty.outputs, reference.outputs, "stack outputs after up");
      assert.deepEqual(faulty.files, reference.files, "proposal files, byte for byte");
      const total = emptyCounts();
      addCounts(total, rpcs);
      assert.ok(failedCount(total) > 0);
      t.diagnostic(`pulumi preview + up: ${describeCounts(total)}; all recovered`);
    } finally {
      await Promise.all(rpcs.map((p) => p.close()));
    }
  });

  it("every RPC down: preview and up fail with an error naming the URLs; nothing is written", async () => {
    const rpcs = await Promise.all(
      [1, 2].map((n) => startFaultyRpc({ upstream: devnet.anvil.rpcUrl, seed: 3000 + n, failureRate: 0 })),
    );
    try {
      const project = new PulumiProject();
      const downConfig = structuredClone({
        ...config,
        network: { ...config.network, rpcUrls: rpcs.map((p) => p.url) },
      });
      await project.configure(downConfig, { proposerKey });
      assert.equal((await project.up()).code, 0);
      const files = proposalBytes(project);
      const state = await stackResources(project);

      // A further change is pending, so a working `up` would write a second proposal.
      downConfig.kms.osImages = [...downConfig.kms.osImages, devMeasurement("while-down")];
      await project.configure(downConfig);
      await Promise.all(rpcs.map((p) => p.close())); // both URLs now refuse connections
      for (const result of [await project.preview(), await project.up()]) {
        assert.notEqual(result.code, 0);
        assert.match(
          result.output,
          /stack devnet: no RPC answered eth_chainId: http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+ refused the connection/,
        );
      }
      assert.deepEqual(proposalBytes(project), files, "no proposal file written or changed");
      assert.deepEqual(await stackResources(project), state, "the stack's resources are unchanged");
    } finally {
      await Promise.all(rpcs.map((p) => p.close()));
    }
  });
});

/** A fresh stack: preview (as JSON), then up; what each produced, minus what differs per directory. */
async function previewAndUp(config: StackConfigInput, secrets: { proposerKey: Hex }) {
  const project = new PulumiProject();
  await project.configure(config, secrets);
  const preview = await project.run("preview", "--json");
  assert.equal(preview.code, 0, preview.output);
  const up = await project.up();
  assert.equal(up.code, 0, up.output);
  const outputs = await project.run("stack", "output", "--json");
  return {
    preview: previewSteps(preview.stdout),
    outputs: JSON.parse(outputs.stdout) as unknown,
    files: proposalBytes(project),
  };
}

/** Each step's operation, resource and the changes it carries (the project directory aside). */
function previewSteps(json: string) {
  const preview = JSON.parse(json) as {
    steps: { op: string; urn: string; newState?: { inputs?: { pending?: string[]; calls?: string[] } } }[];
    changeSummary: unknown;
  };
  const steps = preview.steps.map(
    (s) => [s.op, s.urn, s.newState?.inputs?.pending ?? s.newState?.inputs?.calls ?? null] as const,
  );
  // The engine reports steps as they complete, so their order may vary between runs.
  return { steps: steps.sort((a, b) => a[1].localeCompare(b[1])), summary: preview.changeSummary };
}

/** The stack's resources as exported; secrets are re-encrypted with a fresh nonce on every export, so ciphertexts are left out. */
async function stackResources(project: PulumiProject): Promise<unknown> {
  const exported = await project.run("stack", "export");
  const resources = (JSON.parse(exported.stdout) as { deployment: { resources: unknown } }).deployment.resources;
  return JSON.parse(JSON.stringify(resources, (key, value: unknown) => (key === "ciphertext" ? undefined : value)));
}
