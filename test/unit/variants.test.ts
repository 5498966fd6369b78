import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { zeroAddress, type Hex } from "viem";
import type { CallResult } from "../../src/chain/multicall";
import { appVariant, UnknownVariantError } from "../../src/chain/variants";
import { ACCEPT_FOLLOW_UP, planChanges } from "../../src/plan/plan";
import { addr, APP, config, liveState, SAFE, TIMELOCK } from "./fixtures";

const ok = (result: unknown): CallResult => ({ status: "success", result });
const fails: CallResult = { status: "failure", error: new Error("execution reverted") };
const slot = (word: bigint): Hex => `0x${word.toString(16).padStart(64, "0")}`;
const probes = (over: Partial<Parameters<typeof appVariant>[3]> = {}) => ({
  owner: ok(TIMELOCK),
  pendingOwner: fails,
  allowAnyDevice: ok(false),
  requireTcbUpToDate: ok(true),
  flagsSlot: slot(0n),
  ...over,
});
const detect = (over: Partial<Parameters<typeof appVariant>[3]> = {}) =>
  appVariant("apps[0].proxy", "app-one", APP, probes(over));

describe("DstackApp variants (pure)", () => {
  it("tells the three upstream shapes apart by their probes", () => {
    assert.equal(detect().variant, "released");
    assert.equal(detect({ requireTcbUpToDate: fails }).variant, "legacy");
    assert.equal(detect({ pendingOwner: ok(zeroAddress) }).variant, "two-step");
  });

  it("reads the upgrades-disabled flag from byte 0 of slot 1, checked against allowAnyDevice in byte 1", () => {
    assert.equal(detect({ flagsSlot: slot(0x01n) }).upgradesDisabled, true);
    assert.equal(detect({ flagsSlot: slot(0x0100n), allowAnyDevice: ok(true) }).upgradesDisabled, false);
    assert.equal(detect({ flagsSlot: slot(0x0101n), allowAnyDevice: ok(true) }).upgradesDisabled, true);
  });

  it("refuses what it cannot read, naming the field and what it found", () => {
    assert.throws(
      () => detect({ flagsSlot: slot(0x0100n) }),
      /apps\[0\]\.proxy: storage slot 1 holds 0x100, but .*allowAnyDevice \(false\) in byte 1/,
    );
    assert.throws(() => detect({ flagsSlot: slot(0x02n) }), UnknownVariantError);
    assert.throws(() => detect({ flagsSlot: slot(1n << 16n) }), UnknownVariantError);
    assert.throws(() => detect({ owner: fails }), /apps\[0\]\.proxy: owner\(\) fails/);
    assert.throws(() => detect({ allowAnyDevice: fails }), /allowAnyDevice\(\) fails/);
    assert.throws(
      () => detect({ pendingOwner: ok(zeroAddress), requireTcbUpToDate: fails }),
      /pendingOwner\(\) but no requireTcbUpToDate\(\)/,
    );
  });
});

describe("two-step ownership and the TCB flag (pure planner)", () => {
  const twoStep = () => {
    const live = liveState();
    live.apps[0].twoStepOwnership = true;
    live.apps[0].variant = "two-step";
    return live;
  };

  it("a transfer says the accept follows; the pending desired owner accepts; a foreign pending owner is cancelled", () => {
    const toSafe = config((c) => (c.apps![0].owner = SAFE));
    assert.deepEqual(
      planChanges(toSafe, twoStep()).map((c) => [c.functionName, c.args, c.sender, c.description]),
      [
        [
          "transferOwnership",
          [SAFE],
          TIMELOCK,
          `app-one: transfer ownership ${TIMELOCK} → ${SAFE}; ${ACCEPT_FOLLOW_UP}`,
        ],
      ],
    );
    const pending = twoStep();
    pending.apps[0].pendingOwner = SAFE;
    assert.deepEqual(
      planChanges(toSafe, pending).map((c) => [c.functionName, c.sender]),
      [["acceptOwnership", SAFE]],
    );

    const foreign = twoStep();
    foreign.apps[0].pendingOwner = addr("outsider");
    const cancel = planChanges(config(), foreign);
    assert.deepEqual(
      cancel.map((c) => [c.functionName, c.args, c.revokes]),
      [["transferOwnership", [zeroAddress], true]],
    );
    assert.match(
      cancel[0].description,
      /cancel the pending ownership transfer to 0x[0-9a-fA-F]{40} \(not this stack's owner\)/,
    );
    // a single-step transfer has no follow-up
    assert.ok(!planChanges(toSafe, liveState())[0].description.includes(ACCEPT_FOLLOW_UP));
  });

  it("requireTcbUpToDate: planned when declared and different; refused on a version without the flag", () => {
    const on = config((c) => (c.apps![0].requireTcbUpToDate = true));
    assert.deepEqual(
      planChanges(on, liveState()).map((c) => [c.functionName, c.args, c.revokes]),
      [["setRequireTcbUpToDate", [true], true]],
    );
    const legacy = liveState();
    legacy.apps[0].variant = "legacy";
    legacy.apps[0].requireTcbUpToDate = undefined;
    assert.throws(
      () => planChanges(on, legacy),
      /apps\[0\]\.requireTcbUpToDate: the app runs DstackApp v0\.5\.4–v0\.5\.9 .*; fix: remove apps\[0\]\.requireTcbUpToDate/,
    );
  });
});
