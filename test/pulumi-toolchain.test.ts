// The Pulumi toolchain made by scripts/setup.sh, with the real CLI: the official Node.js language host and
// dynamic-provider launcher next to pulumi, the official command provider in the plugin cache, nothing of
// ours on PATH; and a machine with its own pulumi keeps it, with its own plugins.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { pulumiEnvironment, pulumiToolchain, runPulumi, type PulumiResult } from "../devnet/pulumi-cli";
import { repoRoot } from "../src/repo-root";

const ROOT = repoRoot();
const OUR_BIN = path.join(ROOT, ".tools", "bin");
const HOSTS = ["pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"];

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<PulumiResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, output: `${stdout}\n${stderr}` }));
  });
}

/** The environment scripts/pulumi-env.sh leaves after being sourced from `checkout` with `env`. */
async function sourcedEnv(checkout: string, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const script = 'source scripts/pulumi-env.sh && node -e "process.stdout.write(JSON.stringify(process.env))"';
  const r = await run("bash", ["-c", script], { cwd: checkout, env });
  assert.equal(r.code, 0, r.output);
  return JSON.parse(r.stdout) as NodeJS.ProcessEnv;
}

/** Every executable of that name on a PATH. */
function onPath(name: string, pathValue: string): string[] {
  return pathValue
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, name))
    .filter((file) => fs.existsSync(file));
}

const isNativeBinary = (file: string) =>
  fs
    .readFileSync(file)
    .subarray(0, 4)
    .equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));

/** A throwaway project with a dynamic provider and a local.Command: both kinds of plugin must load. */
function probeProject(dir: string): string {
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    "name: toolchain-probe\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n",
  );
  fs.writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "toolchain-probe", private: true, main: "index.js" }),
  );
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  fs.writeFileSync(
    path.join(dir, "index.js"),
    `const pulumi = require("@pulumi/pulumi");
const command = require("@pulumi/command");
const greeting = new pulumi.Config().require("greeting");
const provider = {
  async diff(id, olds, news) { return { changes: olds.greeting !== news.greeting }; },
  async create(inputs) { return { id: "probe", outs: { greeting: inputs.greeting, length: inputs.greeting.length } }; },
  async update(id, olds, news) { return { outs: { greeting: news.greeting, length: news.greeting.length } }; },
};
class Probe extends pulumi.dynamic.Resource {
  constructor(name, args) { super(provider, name, { length: undefined, ...args }); }
}
const probe = new Probe("probe", { greeting });
const echo = new command.local.Command("echo", { create: "printf %s " + JSON.stringify(greeting) });
exports.length = probe.length;
exports.echoed = echo.stdout;
`,
  );
  return dir;
}

test("setup installed the official language host next to pulumi and the command provider in the plugin cache; no JS host on PATH", {
  timeout: 600_000,
}, async (t) => {
  const toolchain = pulumiToolchain();
  const env = pulumiEnvironment(ROOT);
  assert.ok(!fs.existsSync(path.join(ROOT, "tools", "language-host")), "the home-made JS language host is gone");
  for (const name of HOSTS) {
    const next = path.join(path.dirname(toolchain.bin), name);
    assert.ok(fs.existsSync(next), `${name} next to ${toolchain.bin}`);
    for (const file of onPath(name, env.PATH ?? "")) {
      if (name === "pulumi-language-nodejs")
        assert.ok(isNativeBinary(file), `${file} is a native (Go) language host, not a JS one`);
    }
  }
  if (toolchain.home) {
    assert.ok(
      !(env.PATH ?? "").split(path.delimiter).includes(OUR_BIN),
      "our .tools/bin is not put on PATH for the CLI",
    );
    const pinned = "383cae97ed06734ad29ad6a225bdb3e7351f7687797e8375b1f1808eb8b63ae1";
    assert.equal(
      crypto
        .createHash("sha256")
        .update(fs.readFileSync(path.join(OUR_BIN, "pulumi-language-nodejs")))
        .digest("hex"),
      pinned,
      "the official host, checked",
    );
  }

  const dir = probeProject(fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-toolchain-")));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pulumi = async (...args: string[]) => {
    const r = await runPulumi(dir, args);
    assert.equal(r.code, 0, `pulumi ${args.join(" ")}:\n${r.output}`);
    return r;
  };
  await pulumi("stack", "init", "dev");
  await pulumi("config", "set", "greeting", "hello");
  const about = await pulumi("about");
  assert.match(
    about.stdout,
    /language\s+nodejs\s+3\.\d+\.\d+/,
    "pulumi about names the official Node.js language host",
  );
  assert.doesNotMatch(about.output, /language-host shim|using pulumi-language-nodejs from \$PATH/);
  const up = await pulumi("up", "--yes");
  assert.doesNotMatch(up.output, /from \$PATH/, "no plugin comes from PATH");
  const outputs = JSON.parse((await pulumi("stack", "output", "--json")).stdout) as Record<string, unknown>;
  assert.deepEqual(outputs, { length: 5, echoed: "hello" }, "the dynamic provider and the command provider both ran");
  const plugins = await pulumi("plugin", "ls");
  assert.match(plugins.stdout, /^command\s+resource\s+1\.2\.1\s/m, "the command provider comes from the plugin cache");
  const second = await pulumi("preview", "--diff");
  assert.match(second.stdout, /3 unchanged/);
});

test("a machine with its own pulumi keeps it: setup builds and installs nothing, pulumi-env.sh and the devnet shadow nothing", {
  timeout: 600_000,
}, async (t) => {
  const ours = pulumiToolchain();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-ambient-"));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  // A regular install: pulumi with its bundled plugins in one bin/, and its own PULUMI_HOME.
  const install = path.join(tmp, "install", "bin");
  fs.mkdirSync(install, { recursive: true });
  for (const name of ["pulumi", ...HOSTS])
    fs.copyFileSync(path.join(path.dirname(ours.bin), name), path.join(install, name));
  for (const name of ["pulumi", ...HOSTS]) fs.chmodSync(path.join(install, name), 0o755);
  const home = path.join(tmp, "home", ".pulumi");
  const systemPath = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => path.resolve(dir) !== OUR_BIN)
    .join(path.delimiter);
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${install}${path.delimiter}${systemPath}`,
    PULUMI_HOME: home,
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  const commandPlugin = path.join(
    ours.home ?? path.join(os.homedir(), ".pulumi"),
    "plugins",
    "resource-command-v1.2.1",
    "pulumi-resource-command",
  );
  const installed = await run(
    path.join(install, "pulumi"),
    ["plugin", "install", "resource", "command", "v1.2.1", "--file", commandPlugin],
    { cwd: tmp, env: base },
  );
  assert.equal(installed.code, 0, installed.output);

  // A checkout of the scripts whose dependencies count as installed (setup's stamp; never a link to ours:
  // an npm ci there would empty the real node_modules): setup's pulumi part is what runs.
  const checkout = path.join(tmp, "checkout");
  fs.mkdirSync(path.join(checkout, "node_modules"), { recursive: true });
  fs.cpSync(path.join(ROOT, "scripts"), path.join(checkout, "scripts"), { recursive: true });
  for (const file of ["package.json", "package-lock.json"])
    fs.copyFileSync(path.join(ROOT, file), path.join(checkout, file));
  const lockHash = crypto
    .createHash("sha256")
    .update(fs.readFileSync(path.join(ROOT, "package-lock.json")))
    .digest("hex");
  fs.writeFileSync(path.join(checkout, "node_modules", ".setup-lock.sha256"), `${lockHash}\n`);
  const setup = await run("bash", ["scripts/setup.sh"], { cwd: checkout, env: base });
  assert.equal(setup.code, 0, setup.output);
  assert.match(setup.stdout, new RegExp(`using pulumi from PATH: ${install}/pulumi`));
  assert.match(setup.stdout, /command provider v1\.2\.1 already installed/);
  const made = fs.existsSync(path.join(checkout, ".tools", "bin"))
    ? fs.readdirSync(path.join(checkout, ".tools", "bin"))
    : [];
  assert.deepEqual(made, [], "setup puts nothing of ours beside or in front of the user's pulumi");

  const sourced = await sourcedEnv(checkout, base);
  assert.equal(sourced.PATH, base.PATH, "pulumi-env.sh leaves PATH alone");
  assert.equal(sourced.PULUMI_HOME, home, "and the user's PULUMI_HOME");

  // The devnet's CLI runner picks the same pulumi, and runs a program with its plugins.
  assert.deepEqual(pulumiToolchain(base.PATH), { bin: path.join(install, "pulumi") });
  const dir = path.join(tmp, "project");
  fs.mkdirSync(dir);
  probeProject(dir);
  const pulumi = async (...args: string[]) => {
    const r = await runPulumi(dir, args, { env: { PATH: base.PATH, PULUMI_HOME: home } });
    assert.equal(r.code, 0, `pulumi ${args.join(" ")}:\n${r.output}`);
    return r;
  };
  await pulumi("stack", "init", "dev");
  await pulumi("config", "set", "greeting", "hi");
  const up = await pulumi("up", "--yes");
  assert.doesNotMatch(up.output, /from \$PATH/);
  assert.deepEqual(JSON.parse((await pulumi("stack", "output", "--json")).stdout), { length: 2, echoed: "hi" });
  assert.ok(fs.readdirSync(path.join(home, "logs")).length > 0, "the run used the user's PULUMI_HOME");
});

test("pulumi-env.sh without a pulumi on PATH appends .tools/bin (shadowing nothing) and keeps plugins in .tools/pulumi-home", {
  timeout: 60_000,
}, async () => {
  const systemPath = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => !fs.existsSync(path.join(dir, "pulumi")) || path.resolve(dir) === OUR_BIN);
  const given: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: systemPath.join(path.delimiter),
    PULUMI_BACKEND_URL: "https://api.pulumi.com",
  };
  delete given.PULUMI_CONFIG_PASSPHRASE;
  const env = await sourcedEnv(ROOT, given);
  const entries = (env.PATH ?? "").split(path.delimiter);
  assert.equal(entries.at(-1), OUR_BIN);
  assert.equal(entries.filter((dir) => dir === OUR_BIN).length, 1);
  assert.equal(env.PULUMI_HOME, path.join(ROOT, ".tools", "pulumi-home"));
  assert.equal(env.PULUMI_BACKEND_URL, `file://${path.join(ROOT, ".pulumi-state")}`);
  assert.equal(env.PULUMI_CONFIG_PASSPHRASE, undefined, "pulumi-env.sh must not set a passphrase");
});
