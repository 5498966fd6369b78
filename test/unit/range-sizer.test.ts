import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RangeSizer, type RangeRefusal } from "../../src/chain/logs";

const CHAIN = 1_000_000n;

/** Asks for ranges one after another against an RPC refusing more than `cap` blocks; returns what it asked. */
function scanAgainstCap(sizer: RangeSizer, cap: bigint, refusal: (size: bigint) => RangeRefusal, requests: number) {
  const asked: { size: bigint; probe: boolean; refused: boolean }[] = [];
  for (let i = 0; i < requests; i++) {
    const { size, probe } = sizer.next();
    const refused = size > cap;
    if (refused) sizer.rejected(size, probe, refusal(size));
    else sizer.accepted(size, probe);
    asked.push({ size, probe, refused });
  }
  return asked;
}

describe("range sizing of parallel eth_getLogs scans", () => {
  it("a size the RPC names is taken at its word: every worker may go at once, and nothing is probed above it", () => {
    const sizer = new RangeSizer(CHAIN, undefined);
    assert.equal(sizer.learning, true);
    assert.deepEqual(sizer.next(), { size: CHAIN, probe: false });
    sizer.rejected(CHAIN, false, { kind: "blocks", workableSize: 9_999n });
    assert.equal(sizer.learning, false, "no one-at-a-time learning round after a named size");
    const asked = scanAgainstCap(sizer, 9_999n, () => ({ kind: "blocks" }), 50);
    assert.ok(
      asked.every((a) => a.size === 9_999n && !a.probe && !a.refused),
      "every later range asks for the named size",
    );
  });

  it("without a named size: one request at a time until a range works, then probes close in on the cap", () => {
    const sizer = new RangeSizer(CHAIN, undefined);
    const asked = scanAgainstCap(sizer, 10_000n, () => ({ kind: "blocks" }), 200);
    const firstAccepted = asked.findIndex((a) => !a.refused);
    assert.ok(firstAccepted > 0 && asked.slice(0, firstAccepted).every((a) => a.refused));
    const refusals = asked.filter((a) => a.refused).length;
    assert.ok(refusals <= 14, `${refusals} refusals: halvings to the cap, then a bisection`);
    const settled = asked.at(-1)!.size;
    assert.ok(settled <= 10_000n && settled >= 10_000n - 10_000n / 32n, `settled on ${settled}`);
    assert.ok(
      asked.slice(-100).every((a) => !a.probe && !a.refused),
      "no probing once within 1/32 of the cap",
    );
  });

  it("only one worker probes at a time: the others keep the known-good size", () => {
    const sizer = new RangeSizer(CHAIN, undefined);
    sizer.rejected(CHAIN, false, { kind: "blocks" });
    assert.deepEqual(sizer.next(), { size: CHAIN / 2n, probe: false });
    sizer.accepted(CHAIN / 2n, false);
    const first = sizer.next();
    const second = sizer.next();
    assert.equal(first.probe, true);
    assert.ok(first.size > CHAIN / 2n && first.size < CHAIN, `probe of ${first.size}`);
    assert.deepEqual(second, { size: CHAIN / 2n, probe: false });
    sizer.rejected(first.size, true, { kind: "blocks" });
    assert.equal(sizer.next().probe, true, "the next probe once the first was answered");
  });

  it("too many results with a hint (Infura's): regrowth is tried by one probe after a streak, each refused one doubles the wait", () => {
    const sizer = new RangeSizer(CHAIN, undefined);
    // A true results cap: each refusal names what fits where its range lies, never the same size twice here.
    let hinted = 10_000n;
    const resultsCap = (): RangeRefusal => ({ kind: "results", workableSize: hinted++ });
    sizer.rejected(CHAIN, false, resultsCap());
    assert.equal(sizer.learning, false);
    const asked = scanAgainstCap(sizer, 15_000n, resultsCap, 100);
    const probes = asked.flatMap((a, i) => (a.probe ? [i] : []));
    assert.ok(
      probes.every((i) => asked[i].refused && asked[i].size >= 20_000n),
      "a regrowth probe asks for twice the size",
    );
    const gaps = probes.slice(1).map((at, i) => at - probes[i]);
    assert.ok(probes.length >= 2, `${probes.length} regrowths tried in 100 ranges`);
    assert.ok(
      gaps.every((gap, i) => i === 0 || gap > gaps[i - 1]),
      `waits between probes grow: ${gaps.join(", ")}`,
    );
    assert.ok(probes.length <= 4, `${probes.length} refused regrowths in 100 ranges`);
  });

  it("the same size named twice in results' words is a block cap: after one refused regrowth, no more probes", () => {
    const sizer = new RangeSizer(CHAIN, undefined);
    const infura = (): RangeRefusal => ({ kind: "results", workableSize: 10_000n });
    sizer.rejected(CHAIN, false, infura());
    const asked = scanAgainstCap(sizer, 10_000n, infura, 100);
    const probes = asked.filter((a) => a.probe);
    assert.deepEqual(
      probes.map((a) => [a.size, a.refused]),
      [[20_000n, true]],
      "one regrowth, refused with the same hint",
    );
    assert.ok(asked.every((a) => a.probe || (a.size === 10_000n && !a.refused)));
  });

  it("shrunk for results without a hint, the size halves and grows back (up to the whole scan) once the results thin out", () => {
    const sizer = new RangeSizer(100_000n, undefined);
    sizer.rejected(100_000n, false, { kind: "results" });
    assert.equal(sizer.next().size, 50_000n);
    const asked = scanAgainstCap(sizer, 1_000_000n, () => ({ kind: "results" }), 8);
    assert.ok(asked.some((a) => a.probe && a.size === 100_000n && !a.refused));
    assert.equal(sizer.next().size, 100_000n);
  });

  it("a configured maximum is never exceeded", () => {
    const sizer = new RangeSizer(CHAIN, 2_000n);
    const asked = scanAgainstCap(sizer, 1_000_000n, () => ({ kind: "results" }), 20);
    assert.ok(asked.every((a) => a.size === 2_000n && !a.refused));
  });
});
