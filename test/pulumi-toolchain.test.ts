// End-to-end check of the Pulumi toolchain made by scripts/setup.sh: the real `pulumi` CLI built from Go
// source (.tools/bin/pulumi), the JS Node.js language host shim (.tools/bin/pulumi-language-nodejs) and
// the dynamic-provider launcher (.tools/bin/pulumi-resource-pulumi-nodejs), on a throwaway file backend.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// Compiled to dist/test/pulumi-toolchain.test.js: the repo root is two levels up.
const ROOT = path.resolve(__dirname, "..", "..");
const BIN = path.join(ROOT, ".tools", "bin");
const PULUMI = path.join(BIN, "pulumi");
const CMD_TIMEOUT_MS = 180_000; // the CLI is slow to start on a cold cache

interface Result {
  code: number | null;
  out: string; // stdout + stderr, interleaved as they arrived
  stdout: string;
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out after ${CMD_TIMEOUT_MS} ms: ${cmd} ${args.join(" ")}\n${out}`));
    }, CMD_TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, stdout });
    });
  });
}

/** The environment scripts/pulumi-env.sh produces (sourced by bash), as a JSON object. */
async function pulumiEnv(extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const script = 'source scripts/pulumi-env.sh && node -e "process.stdout.write(JSON.stringify(process.env))"';
  const base = { ...process.env, ...extra };
  delete base.PULUMI_CONFIG_PASSPHRASE;
  const r = await run("bash", ["-c", script], { cwd: ROOT, env: base });
  assert.equal(r.code, 0, `sourcing scripts/pulumi-env.sh failed:\n${r.out}`);
  return JSON.parse(r.stdout) as NodeJS.ProcessEnv;
}

function requireToolchain(): void {
  for (const exe of ["pulumi", "pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"]) {
    const p = path.join(BIN, exe);
    assert.ok(fs.existsSync(p), `${p} is missing: run scripts/setup.sh first`);
  }
}

test("scripts/pulumi-env.sh puts .tools/bin first and selects a local file backend", { timeout: 60_000 }, async () => {
  requireToolchain();
  const env = await pulumiEnv({ PULUMI_BACKEND_URL: "https://api.pulumi.com", PULUMI_HOME: "/nonexistent" });
  assert.equal((env.PATH ?? "").split(path.delimiter)[0], BIN);
  assert.equal(env.PULUMI_HOME, path.join(ROOT, ".tools", "pulumi-home"));
  assert.equal(env.PULUMI_BACKEND_URL, `file://${path.join(ROOT, ".pulumi-state")}`);
  assert.ok(fs.statSync(path.join(ROOT, ".pulumi-state")).isDirectory());
  assert.equal(env.PULUMI_SKIP_UPDATE_CHECK, "true");
  assert.equal(env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION, "true");
  assert.equal(env.PULUMI_CONFIG_PASSPHRASE, undefined, "pulumi-env.sh must not set a passphrase");

  const which = await run("bash", ["-c", "command -v pulumi pulumi-language-nodejs pulumi-resource-pulumi-nodejs"], {
    cwd: ROOT,
    env,
  });
  assert.deepEqual(which.stdout.trim().split("\n"), [
    PULUMI,
    path.join(BIN, "pulumi-language-nodejs"),
    path.join(BIN, "pulumi-resource-pulumi-nodejs"),
  ]);
  const version = await run(PULUMI, ["version"], { cwd: ROOT, env });
  assert.equal(version.code, 0, version.out);
  assert.match(version.stdout.trim(), /^v3\.\d+\.\d+$/, "pulumi must be built with -X ...version.Version");
});

const PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");

const config = new pulumi.Config();
const greeting = config.require("greeting");
const token = config.requireSecret("token");

// A dynamic provider: serialized by the program, run by pulumi-resource-pulumi-nodejs.
const provider = {
    async check(olds, news) {
        return { inputs: news };
    },
    async diff(id, olds, news) {
        console.log("probe-diff: " + olds.greeting + " -> " + news.greeting);
        return { changes: olds.greeting !== news.greeting || olds.token !== news.token };
    },
    async create(inputs) {
        return { id: "probe-1", outs: { greeting: inputs.greeting, token: inputs.token, length: inputs.greeting.length } };
    },
    async update(id, olds, news) {
        return { outs: { greeting: news.greeting, token: news.token, length: news.greeting.length } };
    },
    async read(id, props) {
        return { id, props };
    },
    async delete(id, props) {},
};

class Probe extends pulumi.dynamic.Resource {
    constructor(name, args, opts) {
        super(provider, name, { length: undefined, ...args }, opts);
    }
}

const probe = new Probe("probe", { greeting, token });
exports.greeting = probe.greeting;
exports.length = probe.length;
exports.token = token;
`;

test("real pulumi CLI runs a Node.js program with a dynamic provider on a file backend", {
  timeout: 900_000,
}, async (t) => {
  requireToolchain();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-toolchain-"));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const proj = path.join(tmp, "proj");
  const state = path.join(tmp, "state");
  fs.mkdirSync(proj);
  fs.mkdirSync(state);
  fs.writeFileSync(
    path.join(proj, "Pulumi.yaml"),
    [
      "name: toolchain-probe",
      "runtime:",
      "  name: nodejs",
      "  options:",
      "    typescript: false",
      "main: index.js",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(
    path.join(proj, "package.json"),
    JSON.stringify({ name: "toolchain-probe", private: true, main: "index.js" }, null, 2),
  );
  fs.writeFileSync(path.join(proj, "index.js"), PROGRAM);
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(proj, "node_modules"), "dir");

  const env: NodeJS.ProcessEnv = {
    ...(await pulumiEnv()),
    PULUMI_HOME: path.join(tmp, "home"),
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE: "toolchain-test-passphrase",
  };
  const pulumi = async (...args: string[]): Promise<Result> => {
    const r = await run(PULUMI, args, { cwd: proj, env });
    assert.equal(r.code, 0, `pulumi ${args.join(" ")} exited with ${r.code}:\n${r.out}`);
    return r;
  };
  const secret = `tok-${crypto.randomBytes(12).toString("hex")}`;

  await pulumi("stack", "init", "dev");
  await pulumi("config", "set", "greeting", "hello");
  await pulumi("config", "set", "--secret", "token", secret);
  assert.ok(!fs.readFileSync(path.join(proj, "Pulumi.dev.yaml"), "utf8").includes(secret));

  // The CLI must be using the shim language host.
  const about = await pulumi("about");
  assert.match(about.out, /language\s+nodejs/);
  assert.match(about.out, /tools\/language-host shim/);

  const t0 = Date.now();
  const preview1 = await pulumi("preview", "--color", "never");
  t.diagnostic(`first preview took ${Date.now() - t0} ms`);
  assert.match(preview1.out, /\+ 2 to create/);
  assert.match(preview1.out, /pulumi-nodejs:dynamic:Resource\s+probe\s+create/);

  const up = await pulumi("up", "--yes", "--color", "never");
  assert.match(up.out, /\+ 2 created/);
  assert.match(up.out, /greeting: "hello"/);
  assert.match(up.out, /length\s*: 5/);

  const preview2 = await pulumi("preview", "--color", "never");
  assert.match(preview2.out, /2 unchanged/);
  assert.doesNotMatch(preview2.out, /to (create|update|replace|delete)/);
  assert.match(preview2.out, /probe-diff: hello -> hello/, "console.log in diff shows up in the preview");

  await pulumi("config", "set", "greeting", "goodbye");
  const preview3 = await pulumi("preview", "--color", "never", "--diff");
  assert.match(preview3.out, /~ 1 to update/);
  assert.match(preview3.out, /probe-diff: hello -> goodbye/);
  assert.match(preview3.out, /greeting\s*: "hello" => "goodbye"/);

  const exported = await pulumi("stack", "export");
  const deployment = JSON.parse(exported.stdout) as {
    deployment: { resources: { type: string; outputs?: Record<string, unknown> }[] };
  };
  const probe = deployment.deployment.resources.find((r) => r.type === "pulumi-nodejs:dynamic:Resource");
  assert.ok(probe, "the dynamic resource is in the exported state");
  assert.equal(probe.outputs?.greeting, "hello", "preview does not change the state");
  assert.ok(!exported.stdout.includes(secret), "secret config must not appear in plaintext in stack export");
  const shown = await pulumi("stack", "export", "--show-secrets");
  assert.ok(shown.stdout.includes(secret), "the secret did reach the state (encrypted)");
  const stateFiles = fs.readdirSync(state, { recursive: true }) as string[];
  for (const f of stateFiles) {
    const p = path.join(state, f);
    if (fs.statSync(p).isFile()) {
      assert.ok(!fs.readFileSync(p).toString("latin1").includes(secret), `plaintext secret in ${p}`);
    }
  }

  const refresh = await pulumi("refresh", "--yes", "--color", "never");
  assert.match(refresh.out, /2 unchanged/);

  const destroy = await pulumi("destroy", "--yes", "--color", "never");
  assert.match(destroy.out, /- 2 deleted/);
  await pulumi("stack", "rm", "--yes", "dev");
});
