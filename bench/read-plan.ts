import { performance } from "node:perf_hooks";
import { AGE_CASES, measureAge, missedAgeTargets, type AgeResult } from "./age";
import { measureStack, type SizeResult } from "./measure";
import { startBenchStack } from "./stack";

/** Authorized items per run, as the issue asks. */
const SIZES = [10, 100, 1_000, 5_000];
const REPEATS = 3;
/** Targets: requests stay flat whatever the size, and far below one-read-per-item. */
const MAX_REQUESTS = 20;
const RATIO_SIZE = 1_000;
const MIN_RATIO = 20;

const ratio = (baseline: number, measured: number) => `${(baseline / measured).toFixed(1)}×`;

function table(results: SizeResult[]): string {
  const header = ["items", "requests", "baseline requests", "ratio", "ms", "baseline ms", "time ratio"];
  const rows = results.map((r) => [
    String(r.items),
    String(r.requests),
    String(r.baselineRequests),
    ratio(r.baselineRequests, r.requests),
    r.ms.toFixed(0),
    r.baselineMs.toFixed(0),
    ratio(r.baselineMs, r.ms),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padStart(widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

function missedTargets(results: SizeResult[]): string[] {
  const missed = results
    .filter((r) => r.requests > MAX_REQUESTS)
    .map((r) => `${r.items} items took ${r.requests} requests (target: at most ${MAX_REQUESTS})`);
  const atRatioSize = results.find((r) => r.items === RATIO_SIZE);
  if (atRatioSize && atRatioSize.baselineRequests < MIN_RATIO * atRatioSize.requests) {
    missed.push(
      `at ${RATIO_SIZE} items only ${ratio(atRatioSize.baselineRequests, atRatioSize.requests)} fewer requests than the baseline (target: ${MIN_RATIO}×)`,
    );
  }
  return missed;
}

/** `--only age` (or items, fail) runs one group of rows. */
function wanted(group: string): boolean {
  const at = process.argv.indexOf("--only");
  return at < 0 || process.argv[at + 1] === group;
}

function ageTable(results: AgeResult[]): string {
  return results
    .map(
      (r) =>
        `age: ${r.blocks} blocks, cap ${r.cap ?? "none"}, ${r.run}: ${r.requests} requests, ${r.ms.toFixed(0)} ms${r.sequentialMs === undefined ? "" : ` (one request at a time: ${r.sequentialMs.toFixed(0)} ms, ${(r.sequentialMs / r.ms).toFixed(1)}×)`}`,
    )
    .join("\n");
}

async function main() {
  const json = process.argv.includes("--json");
  const started = performance.now();
  const missed: string[] = [];
  if (wanted("items")) missed.push(...(await itemRows(json)));
  if (wanted("age")) {
    const ages: AgeResult[] = [];
    for (const { blocks, caps, sequential } of AGE_CASES) {
      const rows = await measureAge(blocks, caps, sequential);
      ages.push(...rows);
      if (json) for (const row of rows) console.log(JSON.stringify(row));
      else console.error(`measured a ${blocks}-block chain`);
    }
    if (!json) console.log(ageTable(ages));
    missed.push(...missedAgeTargets(ages));
  }
  console.error(`bench ran in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const target of missed) console.error(`target missed: ${target}`);
  if (missed.length) process.exitCode = 1;
}

async function itemRows(json: boolean): Promise<string[]> {
  const stack = await startBenchStack();
  const results: SizeResult[] = [];
  try {
    for (const items of SIZES) {
      await stack.growTo(items);
      const result = await measureStack(stack, REPEATS);
      results.push(result);
      if (json) console.log(JSON.stringify(result));
      else console.error(`measured ${items} items`);
    }
  } finally {
    await stack.stop();
  }
  if (!json) console.log(table(results));
  // Progress, runtime and verdict go to stderr so --json output stays one object per line.
  console.error(`item rows: median of ${REPEATS} runs per reader and size`);
  return missedTargets(results);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
