import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planChanges } from "../../src/plan/plan";
import { safeOwnerCalls } from "../../src/plan/safe-owners";
import { checkPolicy } from "../../src/policy/check";
import { massRemovalFindings } from "../../src/policy/mass-removal";
import { minThreshold, recommendationFindings } from "../../src/policy/recommended";
import { stateAfter } from "../../src/policy/state-after";
import { addr, config, hash, liveState, SAFE, SIGNERS, TIMELOCK } from "./fixtures";

describe("policy (pure parts)", () => {
  it("state after replays set, Safe, timelock and ownership calls", () => {
    const live = liveState();
    const outsider = addr("outsider");
    const desired = config((c) => {
      if (c.governance.mode !== "safe+timelock") throw new Error("fixture");
      c.kms.osImages = [hash("os-2"), hash("os-3")];
      c.apps![0].composeHashes = [];
      c.governance.timelock.delay = "2h";
      c.governance.safe.owners = c.governance.safe.owners.slice(0, 2);
      c.apps![0].owner = outsider;
    });
    const after = stateAfter(live, planChanges(desired, live));
    assert.deepEqual(after.osImages.sort(), [hash("os-2"), hash("os-3")].sort());
    assert.deepEqual(after.composeHashes["app-one"], []);
    assert.equal(after.timelock!.delay, 7200n);
    assert.deepEqual(after.safe, { address: SAFE, owners: SIGNERS.slice(0, 2), threshold: 2 });
    assert.equal(after.owners["app:app-one"], outsider);
    assert.equal(after.owners.kms, TIMELOCK);
  });

  it("recommendations: production needs 5-7 signers, 2/3 threshold, 1-3 d delay; non-production only warns", () => {
    assert.equal(minThreshold(3), 2);
    assert.equal(minThreshold(7), 5);
    const c = config();
    const shape = {
      mode: c.governance.mode,
      safe: c.governance.mode === "direct" ? undefined : c.governance.safe,
      timelock: { address: TIMELOCK, delay: 3600n, expiration: 259200n },
      safeOwned: [],
    };
    assert.deepEqual(
      recommendationFindings("production", shape).map((f) => f.rule),
      ["signers.count", "timelock.delay", "timelock.expiration"],
    );
    assert.deepEqual(recommendationFindings("non-production", shape), []);
  });

  it("shrinking a set by more than half needs the set.mass-removal override; replacing does not", () => {
    const live = liveState();
    const emptied = config((c) => (c.kms.osImages = []));
    assert.deepEqual(
      massRemovalFindings(emptied, live, planChanges(emptied, live)).map((f) => `${f.rule} ${f.path}: ${f.message}`),
      ["set.mass-removal kms.osImages: the proposal removes 2 of the 2 members on chain"],
    );
    const replaced = config((c) => (c.kms.devices = [hash("kms-device-2")]));
    assert.deepEqual(massRemovalFindings(replaced, live, planChanges(replaced, live)), []);
    const halved = config((c) => (c.kms.osImages = [hash("os-1")]));
    assert.deepEqual(massRemovalFindings(halved, live, planChanges(halved, live)), [], "exactly half is allowed");

    const devicesGone = config((c) => (c.kms.devices = []));
    const refused = checkPolicy(devicesGone, live, planChanges(devicesGone, live));
    assert.deepEqual(
      refused.errors.map((f) => f.rule),
      ["set.mass-removal"],
    );
    const reason = "revoking the only device on purpose: it was decommissioned";
    const overridden = config(
      (c) => ((c.kms.devices = []), (c.policy = { overrides: [{ rule: "set.mass-removal", reason }] })),
    );
    const accepted = checkPolicy(overridden, live, planChanges(overridden, live));
    assert.deepEqual(accepted.errors, []);
    assert.deepEqual(accepted.overrides, [{ rule: "set.mass-removal", reason }]);
  });

  it("rails: removing the last Safe owner is an error on every tier", () => {
    const live = liveState();
    const calls = safeOwnerCalls(SAFE, live.safe!, { owners: [], threshold: 0 });
    assert.ok(checkPolicy(config(), live, calls).errors.some((f) => f.rule === "rail.last-owner"));
  });
});
