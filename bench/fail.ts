import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { runPulumi } from "../devnet/pulumi-cli";
import { linkProjectDir, writeStack } from "../devnet/pulumi-stack";
import type { StackConfigInput } from "../src/config/schema";
import { closedPort } from "../test/helpers/closed-port";

export interface FailResult {
  scenario: "fail";
  case: "config" | "rpc";
  ms: number;
}

/** Target of the issue: a failing preview exits within 3 s. */
export const FAIL_TARGET_MS = 3_000;

const ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/** A direct-mode stack whose RPC port is closed. */
function stackConfig(rpcUrl: string): StackConfigInput {
  return {
    network: { tier: "non-production", chainId: 31337, rpcUrls: [rpcUrl], startBlock: 0 },
    governance: { mode: "direct", admin: ADDRESS },
    kms: { proxy: ADDRESS, osImages: [] },
  };
}

/**
 * Times `pulumi preview` (the real CLI) from start to exit on a stack with an invalid hash (fails
 * before any RPC) and on one whose RPC port is closed; each must fail with its clear message.
 */
export async function measureFailingPreviews(): Promise<FailResult[]> {
  const dir = linkProjectDir(mkdtempSync(join(tmpdir(), "gov-bench-fail-")));
  const rpcUrl = `http://127.0.0.1:${await closedPort()}`;
  const cases: { case: FailResult["case"]; config: StackConfigInput; message: RegExp }[] = [
    {
      case: "config",
      config: { ...stackConfig(rpcUrl), kms: { proxy: ADDRESS, osImages: ["0x1234"] } },
      message: /kms\.osImages\[0\]/,
    },
    { case: "rpc", config: stackConfig(rpcUrl), message: /no RPC answered eth_chainId: .* refused the connection/ },
  ];
  const results: FailResult[] = [];
  for (const c of cases) {
    await writeStack(dir, "bench", c.config);
    const started = performance.now();
    const result = await runPulumi(dir, ["preview", "--stack", "bench"]);
    const ms = Math.round(performance.now() - started);
    if (result.code === 0 || !c.message.test(result.output))
      throw new Error(`the failing preview (${c.case}) did not fail with its message:\n${result.output}`);
    results.push({ scenario: "fail", case: c.case, ms });
  }
  return results;
}
