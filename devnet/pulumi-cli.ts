import { spawn } from "node:child_process";
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { delimiter, join, resolve as resolvePath } from "node:path";
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

/** The pulumi a run uses: a regular install on PATH as it is, else the one scripts/setup.sh put in .tools/bin. */
export interface PulumiToolchain {
  bin: string;
  /** PULUMI_HOME of our own toolchain; a regular install keeps its own (undefined). */
  home?: string;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The same choice as scripts/pulumi-env.sh: nothing of ours shadows a pulumi already on PATH. */
export function pulumiToolchain(path = process.env.PATH ?? ""): PulumiToolchain {
  const ours = join(repoRoot(), ".tools", "bin");
  const ambient = path
    .split(delimiter)
    .find((dir) => dir && resolvePath(dir) !== ours && isExecutable(join(dir, "pulumi")));
  if (ambient) return { bin: join(ambient, "pulumi") };
  if (!isExecutable(join(ours, "pulumi")) || !isExecutable(join(ours, "pulumi-language-nodejs"))) {
    throw new Error("no pulumi on PATH and no .tools/bin/pulumi with its language host: run bash scripts/setup.sh");
  }
  return { bin: join(ours, "pulumi"), home: join(repoRoot(), ".tools", "pulumi-home") };
}

/** The environment scripts/pulumi-env.sh sets, for a project whose file backend lives in projectDir. */
export function pulumiEnvironment(
  projectDir: string,
  extra: NodeJS.ProcessEnv = {},
  toolchain = pulumiToolchain(extra.PATH ?? process.env.PATH),
): NodeJS.ProcessEnv {
  mkdirSync(join(projectDir, ".pulumi-state"), { recursive: true });
  return {
    ...process.env,
    ...(toolchain.home ? { PULUMI_HOME: toolchain.home } : {}),
    PULUMI_BACKEND_URL: `file://${join(projectDir, ".pulumi-state")}`,
    PULUMI_SKIP_UPDATE_CHECK: "true",
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
    const toolchain = pulumiToolchain(options.env?.PATH ?? process.env.PATH);
    const child = spawn(toolchain.bin, [...args, "--non-interactive", "--color", "never"], {
      cwd: projectDir,
      env: pulumiEnvironment(projectDir, options.env, toolchain),
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
