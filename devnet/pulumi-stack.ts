import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Hex } from "viem";
import { writeStackFile } from "../src/config/stack-file";
import type { StackConfigInput } from "../src/config/schema";
import { repoRoot } from "../src/repo-root";
import { runPulumiOrThrow } from "./pulumi-cli";

export interface StackSecrets {
  proposerKey?: Hex;
  executorKey?: Hex;
  adminKey?: Hex;
}

/**
 * A Pulumi project directory outside the repo that runs the repo's compiled program: Pulumi.yaml
 * plus links to dist/ and node_modules/. Tests and the demo get their own state and proposals.
 */
export function linkProjectDir(dir: string): string {
  const root = repoRoot();
  writeFileSync(join(dir, "Pulumi.yaml"), readFileSync(join(root, "Pulumi.yaml")));
  for (const name of ["dist", "node_modules"]) {
    if (!existsSync(join(dir, name))) symlinkSync(join(root, name), join(dir, name));
  }
  return dir;
}

/** Creates (or resets) a stack whose config describes `config`, with secrets set through the CLI. */
export async function writeStack(
  projectDir: string,
  stack: string,
  config: StackConfigInput,
  secrets: StackSecrets = {},
): Promise<void> {
  writeStackFile(projectDir, stack, config);
  const stacks = await runPulumiOrThrow(projectDir, ["stack", "ls", "--json"]);
  const known = (JSON.parse(stacks.stdout) as { name: string }[]).some((s) => s.name === stack);
  if (!known) await runPulumiOrThrow(projectDir, ["stack", "init", stack, "--secrets-provider", "passphrase"]);
  for (const [name, value] of Object.entries(secrets)) {
    // The value goes through stdin, so it never shows in a process list or a log.
    if (value)
      await runPulumiOrThrow(projectDir, ["config", "set", "--secret", "--stack", stack, name], { input: value });
  }
}
