import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { measureStack, type SizeResult } from "../bench/measure";
import { startBenchStack, type BenchStack } from "../bench/stack";

describe("read + plan request count (small bench)", () => {
  let stack: BenchStack;
  let small: SizeResult;
  let large: SizeResult;
  before(async () => {
    stack = await startBenchStack();
    await stack.growTo(10);
    small = await measureStack(stack, 2);
    await stack.growTo(200);
    large = await measureStack(stack, 2);
  });
  after(() => stack.stop());

  it("grew the stack to the sizes asked", () => {
    assert.equal(small.items, 10);
    assert.equal(large.items, 200);
  });

  it("the engine's request count does not grow with the items and stays within 20", () => {
    assert.equal(large.requests, small.requests);
    assert.ok(small.requests <= 20, `${small.requests} requests`);
  });

  it("the one-read-per-item baseline grows with every item", () => {
    assert.ok(
      large.baselineRequests - small.baselineRequests >= large.items - small.items,
      `${small.baselineRequests} → ${large.baselineRequests}`,
    );
  });
});
