import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { repoRoot } from "../src/repo-root";

/** The devnet's secrets passphrase. Only devnet stacks use a known one; real stacks bring their own. */
export const DEVNET_PASSPHRASE = "devnet-only-not-a-secret";

export interface PulumiResult {
  code: number;
  stdout: string;
  stderr: string;
  /** What a user sees: the diff on stdout plus the diagnostics Pulumi prints on stderr. */
  output: string;
}

/** The environment scripts/pulumi-env.sh sets, for a project whose file backend lives in projectDir. */
export function pulumiEnvironment(projectDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const tools = join(repoRoot(), ".tools");
  if (!existsSync(join(tools, "bin", "pulumi-language-nodejs")))
    throw new Error("the Pulumi toolchain is missing: run bash scripts/setup.sh");
  mkdirSync(join(projectDir, ".pulumi-state"), { recursive: true });
  return {
    ...process.env,
    PATH: `${join(tools, "bin")}${delimiter}${process.env.PATH ?? ""}`,
    PULUMI_HOME: join(tools, "pulumi-home"),
    PULUMI_BACKEND_URL: `file://${join(projectDir, ".pulumi-state")}`,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    PULUMI_CONFIG_PASSPHRASE: DEVNET_PASSPHRASE,
    NO_COLOR: "1",
    ...extra,
  };
}

/** Runs the real pulumi CLI; `input` feeds stdin (secrets go there, never on the command line). */
export function runPulumi(
  projectDir: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<PulumiResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", [...args, "--non-interactive", "--color", "never"], {
      cwd: projectDir,
      env: pulumiEnvironment(projectDir, options.env),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, output: `${stdout}\n${stderr}` }));
    child.stdin.end(options.input ?? "");
  });
}

export async function runPulumiOrThrow(
  projectDir: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<PulumiResult> {
  const result = await runPulumi(projectDir, args, options);
  if (result.code !== 0)
    throw new Error(`pulumi ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}
