import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runGov } from "./harness";

describe("gov arguments and errors (no chain needed)", () => {
  const root = mkdtempSync(join(tmpdir(), "gov-args-"));

  it("--help prints the commands and exits 0", async () => {
    const run = await runGov(["--help"]);
    assert.equal(run.code, 0);
    for (const command of [
      "status",
      "show <id>",
      "sign <id>",
      "approve <id>",
      "execute <id>",
      "cancel <id>",
      "audit",
      "import",
    ])
      assert.ok(run.stdout.includes(`  ${command}`), command);
  });

  it("each mistake is one clear line on stderr and exit code 1", async () => {
    const cases: [string[], string][] = [
      [[], "gov: give a command (gov --help lists them)"],
      [["deploy", "--stack", "x"], 'gov: unknown command "deploy" (gov --help lists them)'],
      [["status"], "gov: --stack: name the stack (its config is Pulumi.<stack>.yaml)"],
      [["status", "--stack", "../etc"], 'gov: --stack: "../etc" is not a stack name (letters, digits, "_", ".", "-")'],
      [["show", "--stack", "x", "--root", root], "gov: give <id>"],
      [["status", "extra", "--stack", "x", "--root", root], 'gov: unexpected argument "extra"'],
      [
        ["status", "--stack", "x", "--root", root],
        `gov: no stack file ${join(root, "Pulumi.x.yaml")}: create the stack (pulumi stack init x) or run gov import`,
      ],
    ];
    for (const [args, stderr] of cases) {
      const run = await runGov(args);
      assert.deepEqual(
        { code: run.code, stderr: run.stderr, stdout: run.stdout },
        { code: 1, stderr: `${stderr}\n`, stdout: "" },
        args.join(" "),
      );
    }
    const unknownOption = await runGov(["status", "--stack", "x", "--json"]);
    assert.equal(unknownOption.code, 1);
    assert.match(unknownOption.stderr, /^gov: Unknown option '--json'/);
  });

  it("an invalid stack file is reported as one line naming each field", async () => {
    writeFileSync(join(root, "Pulumi.bad.yaml"), "config:\n  dstack-governance:network:\n    tier: staging\n");
    const run = await runGov(["status", "--stack", "bad", "--root", root]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^gov: invalid stack config: network\.tier: .*; network\.chainId: .*; governance: .*\n$/);
  });

  it("GOV_DEBUG=1 adds the stack trace", async () => {
    const run = await runGov(["status", "--stack", "x", "--root", root], { GOV_DEBUG: "1" });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no stack file/);
    assert.match(run.stderr, /\n\s+at .*stack-file/);
  });
});
