import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import type { StackConfigInput } from "../../src/config/schema";
import { renderStackFile } from "../../src/config/stack-file";
import type { ProposalFile } from "../../src/proposal/types";
import { inspectStack, proposeChanges } from "../../src/reconcile/reconcile";
import { openStack } from "../../src/reconcile/stack";

const GOV = join(__dirname, "..", "..", "cli", "gov.js");

export interface GovRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every output of every run, so a test can prove no key ever appeared in any of them. */
export const allOutput: string[] = [];

/** Runs the compiled CLI as a user would: a child process, stdin not a terminal, no key unless given. */
export function runGov(args: string[], env: Record<string, string> = {}): Promise<GovRun> {
  const { GOV_PRIVATE_KEY: _ignored, GOV_DEBUG: _debug, ...parentEnv } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GOV, ...args], {
      env: { ...parentEnv, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      allOutput.push(stdout, stderr);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** A temp root holding Pulumi.<stack>.yaml for the config, as a user's repository would. */
export function stackRoot(config: StackConfigInput, stack = "devnet"): string {
  const root = mkdtempSync(join(tmpdir(), "gov-cli-"));
  writeFileSync(join(root, `Pulumi.${stack}.yaml`), renderStackFile(config));
  return root;
}

/** What pulumi up does: plan against the chain and write one proposal (unsigned). */
export async function propose(root: string, config: StackConfigInput, stack = "devnet"): Promise<ProposalFile> {
  writeFileSync(join(root, `Pulumi.${stack}.yaml`), renderStackFile(config));
  const opened = await openStack({ name: stack, root, rawConfig: config });
  const proposal = await proposeChanges(opened, await inspectStack(opened));
  if (!proposal) throw new Error("the config change planned no calls");
  return proposal;
}

export { sendAsImpersonated } from "../helpers/devnet";

/** No key, in any letter case, in any output of this process's runs or in any file under root. */
export function assertNoKeyLeaked(keys: readonly Hex[], root: string): void {
  const texts = [...allOutput, ...filesUnder(root).values()].map((text) => text.toLowerCase());
  for (const key of keys) {
    const digits = key.slice(2).toLowerCase();
    if (texts.some((text) => text.includes(digits)))
      throw new Error(`the key starting ${key.slice(0, 6)} appears in an output or a file`);
  }
}

/** The text of every file under dir, for asserting what was (and was not) written. */
export function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) for (const [p, text] of filesUnder(path)) files.set(p, text);
    else files.set(path, readFileSync(path, "utf8"));
  }
  return files;
}
