import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { ConfigError, parseStackConfig } from "../src/config/schema";
import { readStackFile } from "../src/config/stack-file";
import { repoRoot } from "../src/repo-root";

/** Every path whose value is a fill-in mark (a string containing REPLACE_ME). */
function fillInMarks(value: unknown, path = ""): string[] {
  if (typeof value === "string") return value.includes("REPLACE_ME") ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => fillInMarks(item, `${path}[${i}]`));
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([key, item]) => fillInMarks(item, path ? `${path}.${key}` : key));
  return [];
}

const shipped = readdirSync(repoRoot())
  .filter((name) => /^Pulumi\.[^.]+\.yaml$/.test(name))
  .map((name) => name.slice("Pulumi.".length, -".yaml".length));

describe("shipped stack files", () => {
  it("ship Ethereum mainnet, Base and Base Sepolia", () => {
    const chains = shipped
      .map((stack) => (readStackFile(repoRoot(), stack).network as { chainId: number }).chainId)
      .sort((a, b) => a - b);
    assert.deepEqual(chains, [1, 8453, 84532]);
    const ethereum = readStackFile(repoRoot(), "ethereum") as {
      kms: { proxy: string };
      governance: { timelock: { kind: string } };
    };
    assert.equal(ethereum.kms.proxy, "0xd343a3f5593b93D8056aB5D60c433622d7D65a80");
    assert.equal(ethereum.governance.timelock.kind, "openzeppelin");
  });

  for (const stack of shipped) {
    it(`Pulumi.${stack}.yaml fails only on its fill-in marks, naming each`, () => {
      const raw = readStackFile(repoRoot(), stack);
      const marks = fillInMarks(raw);
      assert.ok(marks.length > 0, "a shipped file leaves the deployment's own addresses to fill in");
      let issues: string[] = [];
      try {
        parseStackConfig(raw);
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        issues = error.problems.map((p) => `${p.path}: ${p.message}`);
      }
      const failedPaths = issues.map((issue) => issue.slice(0, issue.indexOf(": ")));
      assert.deepEqual([...new Set(failedPaths)].sort(), [...new Set(marks)].sort(), issues.join("\n"));
    });
  }
});
