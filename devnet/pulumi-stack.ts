import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
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
  deployerKey?: Hex;
}

/**
 * A Pulumi project directory outside the repo that runs the repo's compiled program: Pulumi.yaml,
 * links to package.json and node_modules/, and a dist/ holding a link to the program. dist/ is a real directory:
 * Pulumi runs providers in the program's directory, and they find the project above it.
 * Tests and the demo get their own state and proposals.
 */
export function linkProjectDir(dir: string): string {
  const root = repoRoot();
  writeFileSync(join(dir, "Pulumi.yaml"), readFileSync(join(root, "Pulumi.yaml")));
  for (const name of ["package.json", "node_modules"]) {
    if (!existsSync(join(dir, name))) symlinkSync(join(root, name), join(dir, name));
  }
  mkdirSync(join(dir, "dist"), { recursive: true });
  if (!existsSync(join(dir, "dist", "index.js")))
    symlinkSync(join(root, "dist", "index.js"), join(dir, "dist", "index.js"));
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
