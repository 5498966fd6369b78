import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { afterEach, beforeEach, describe, test } from "node:test";
import { removeStaleTempFiles, writeFileAtomic, writeFilesAtomic } from "../src/proposal/atomic-write";

const ATOMIC_WRITE_MODULE = join(__dirname, "..", "src", "proposal", "atomic-write.js");
const PAYLOAD_BODY_BYTES = 256 * 1024;

// Big enough that a non-atomic write is visible half-done; self-describing so any reader can
// check that what it read is exactly one whole version.
function payload(version: number): string {
  return `BEGIN ${version}\n${"x".repeat(PAYLOAD_BODY_BYTES)}\nEND ${version}\n`;
}

function completeVersion(text: string): number | undefined {
  const header = /^BEGIN (\d+)\n/.exec(text);
  return header && text === payload(Number(header[1])) ? Number(header[1]) : undefined;
}

// The same two functions, as source for child processes.
const PAYLOAD_SOURCE = `const PAYLOAD_BODY_BYTES = ${PAYLOAD_BODY_BYTES};\n${payload.toString()}\n${completeVersion.toString()}\n`;

type NodeChild = { process: ChildProcess; ready: Promise<void>; output: Promise<string> };

// With -e, the script's arguments start at process.argv[1]. Output is collected from the start, so nothing printed between "ready" and exit is missed.
function startNode(script: string, args: string[]): NodeChild {
  const child = spawn(process.execPath, ["-e", script, "--", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let text = "";
  child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const output = once(child, "close").then(() => text.replace(/^ready\n/, ""));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", () => text.startsWith("ready\n") && resolve());
    child.on("close", () => reject(new Error(`child exited before it was ready: ${text}`)));
  });
  return { process: child, ready, output };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-write-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("payload check used by the readers", () => {
  test("accepts a whole version and rejects empty or cut-off text", () => {
    assert.equal(completeVersion(payload(7)), 7);
    assert.equal(completeVersion(""), undefined);
    assert.equal(completeVersion(payload(7).slice(0, -1)), undefined);
    assert.equal(completeVersion(payload(7).slice(0, 4096)), undefined);
  });
});

describe("writeFileAtomic", () => {
  test("creates missing directories and leaves only the target behind", async () => {
    const target = join(dir, "a", "b", "plan.json");
    await writeFileAtomic(target, "{}\n");
    assert.equal(await readFile(target, "utf8"), "{}\n");
    assert.deepEqual(await readdir(join(dir, "a", "b")), ["plan.json"]);
  });

  test("concurrent writers of one path leave exactly one complete version and no temp files", async () => {
    const target = join(dir, "plan.json");
    const versions = Array.from({ length: 16 }, (_, index) => index + 1);
    await Promise.all(versions.map((version) => writeFileAtomic(target, payload(version))));

    const winner = completeVersion(await readFile(target, "utf8"));
    assert.ok(winner !== undefined && versions.includes(winner), `target holds no complete version (got ${winner})`);
    assert.deepEqual(await readdir(dir), ["plan.json"]);
  });

  test("a reader in another process never sees a partial or empty file during 200 rewrites", async () => {
    const target = join(dir, "plan.json");
    const stopFile = join(dir, "stop");
    await writeFileAtomic(target, payload(0));

    const reader = startNode(
      `${PAYLOAD_SOURCE}
       const fs = require("node:fs");
       const [target, stopFile] = process.argv.slice(1);
       const seen = new Set(); const torn = []; let reads = 0;
       process.stdout.write("ready\\n");
       while (!fs.existsSync(stopFile)) {
         const text = fs.readFileSync(target, "utf8"); reads++;
         const version = completeVersion(text);
         if (version === undefined) torn.push({ length: text.length, start: text.slice(0, 20) }); else seen.add(version);
       }
       process.stdout.write(JSON.stringify({ reads, torn, versionsSeen: seen.size }));`,
      [target, stopFile],
    );
    await reader.ready;

    for (let version = 1; version <= 200; version++) await writeFileAtomic(target, payload(version));
    await writeFile(stopFile, "");
    const report = JSON.parse(await reader.output) as { reads: number; torn: unknown[]; versionsSeen: number };

    assert.deepEqual(report.torn, []);
    assert.ok(
      report.versionsSeen >= 2,
      `reader did not overlap the rewrites (saw ${report.versionsSeen} versions in ${report.reads} reads)`,
    );
    assert.equal(completeVersion(await readFile(target, "utf8")), 200);
  });

  test("a writer killed mid-loop leaves a complete file; its leftovers are cleaned up", async () => {
    const target = join(dir, "plan.json");
    const writer = startNode(
      `${PAYLOAD_SOURCE}
       const [modulePath, target] = process.argv.slice(1);
       const { writeFileAtomic } = require(modulePath);
       (async () => {
         for (let version = 1; ; version++) {
           await writeFileAtomic(target, payload(version));
           if (version === 1) process.stdout.write("ready\\n");
         }
       })();`,
      [ATOMIC_WRITE_MODULE, target],
    );
    await writer.ready;
    await new Promise((resolve) => setTimeout(resolve, 50));
    writer.process.kill("SIGKILL");
    await writer.output;

    assert.notEqual(completeVersion(await readFile(target, "utf8")), undefined);
    await removeStaleTempFiles(dir);
    assert.deepEqual(await readdir(dir), ["plan.json"]);
  });

  test("a failed write removes its temp file and reports the error", async () => {
    const target = join(dir, "occupied");
    await mkdir(join(target, "child"), { recursive: true });
    await assert.rejects(writeFileAtomic(target, "contents"));
    assert.deepEqual(await readdir(dir), ["occupied"]);
  });
});

describe("writeFilesAtomic", () => {
  test("a rerun with identical contents reports every file unchanged and touches nothing", async () => {
    const files = [
      { path: join(dir, "out", "batch.json"), contents: '{"a":1}\n' },
      { path: join(dir, "out", "plan.md"), contents: "# plan\n" },
    ];
    assert.deepEqual(await writeFilesAtomic(files), { written: files.map((f) => f.path), unchanged: [] });
    const before = await Promise.all(files.map((f) => stat(f.path)));

    assert.deepEqual(await writeFilesAtomic(files), { written: [], unchanged: files.map((f) => f.path) });
    const after = await Promise.all(files.map((f) => stat(f.path)));
    assert.deepEqual(
      after.map((s) => [s.ino, s.mtimeMs]),
      before.map((s) => [s.ino, s.mtimeMs]),
    );

    const edited = [files[0], { ...files[1], contents: "# plan v2\n" }];
    assert.deepEqual(await writeFilesAtomic(edited), { written: [files[1].path], unchanged: [files[0].path] });
    assert.equal(await readFile(files[1].path, "utf8"), "# plan v2\n");
  });

  test("if any file cannot be staged, no target is changed and no temp file is left", async () => {
    const existing = join(dir, "batch.json");
    await writeFile(existing, "old\n");
    await writeFile(join(dir, "blocker"), "a file where a directory is needed\n");

    await assert.rejects(
      writeFilesAtomic([
        { path: existing, contents: "new\n" },
        { path: join(dir, "blocker", "plan.md"), contents: "# plan\n" },
      ]),
      { code: "ENOTDIR" },
    );
    assert.equal(await readFile(existing, "utf8"), "old\n");
    assert.deepEqual((await readdir(dir)).sort(), ["batch.json", "blocker"]);
  });

  test("the same path twice is rejected before anything is written", async () => {
    const path = join(dir, "batch.json");
    await assert.rejects(
      writeFilesAtomic([
        { path, contents: "one" },
        { path, contents: "two" },
      ]),
      /listed more than once/,
    );
    assert.deepEqual(await readdir(dir), []);
  });
});

describe("removeStaleTempFiles", () => {
  test("removes temp files of dead writers only", async () => {
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;
    const stale = `.plan.json.${deadPid}.0a1b2c3d4e5f.tmp`;
    const live = `.plan.json.${process.pid}.0a1b2c3d4e5f.tmp`;
    const unrelated = [".notes.tmp", "plan.json", "draft.tmp"];
    for (const name of [stale, live, ...unrelated]) await writeFile(join(dir, name), "partial");

    assert.deepEqual(await removeStaleTempFiles(dir), [join(dir, stale)]);
    assert.deepEqual((await readdir(dir)).sort(), [live, ...unrelated].sort());
  });

  test("a missing directory has nothing to clean", async () => {
    assert.deepEqual(await removeStaleTempFiles(join(dir, "absent")), []);
  });
});
