import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pulumiEnvironment, pulumiToolchain, type PulumiResult } from "../../devnet/pulumi-cli";
import { PulumiProject } from "../helpers/pulumi-project";

/** A pulumi CLI run the test can kill: the child, and its result once it has exited. */
export interface RunningPulumi {
  child: ChildProcess;
  done: Promise<PulumiResult>;
}

/** Starts the real pulumi CLI like runPulumi does, but hands back the process. */
export function startPulumi(project: PulumiProject, args: string[], env: NodeJS.ProcessEnv = {}): RunningPulumi {
  const toolchain = pulumiToolchain(env.PATH ?? process.env.PATH);
  const child = spawn(toolchain.bin, [...args, "--stack", project.stack, "--non-interactive", "--color", "never"], {
    cwd: project.dir,
    env: pulumiEnvironment(project.dir, env, toolchain),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<PulumiResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, stdout, stderr, output: `${stdout}\n${stderr}` }));
  });
  return { child, done };
}

function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** The process and all its descendants (language host, providers), found through /proc. */
function processTree(root: number): number[] {
  const pids = readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
  const tree = [root];
  // Each pass adds the children of what is already in the tree; a tree is never deeper than the process count.
  for (let pass = 0; pass < pids.length; pass++) {
    const added = pids.filter((pid) => !tree.includes(pid) && tree.includes(parentOf(pid) ?? -1));
    if (added.length === 0) break;
    tree.push(...added);
  }
  return tree;
}

/** SIGKILL the pulumi CLI and every process it started, each by its own id: a machine losing power. */
export function killTree(root: number): void {
  for (const pid of processTree(root)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Polls (bounded) until `ready` holds; the crash tests wait for a file to appear with it. */
export async function waitFor(ready: () => boolean, what: string, attempts = 1200, intervalMs = 25): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (ready()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A new project with a copy of another's stack file and state: many runs from one adopted stack. */
export function cloneProject(template: PulumiProject): PulumiProject {
  const copy = new PulumiProject(template.stack);
  cpSync(join(template.dir, ".pulumi-state"), join(copy.dir, ".pulumi-state"), { recursive: true });
  cpSync(join(template.dir, `Pulumi.${template.stack}.yaml`), join(copy.dir, `Pulumi.${template.stack}.yaml`));
  return copy;
}

/** Every proposal file of a project's stack, name → bytes, for byte-for-byte comparisons. */
export function proposalBytes(project: PulumiProject): Map<string, string> {
  const dir = join(project.dir, "proposals", project.stack);
  const files = new Map<string, string>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir).sort()) files.set(name, readFileSync(join(dir, name), "utf8"));
  return files;
}
