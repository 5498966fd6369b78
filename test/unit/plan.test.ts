import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planChanges } from "../../src/plan/plan";
import { encodeChange } from "../../src/plan/changes";
import { planSafeOwnerSteps, SENTINEL_OWNER } from "../../src/plan/safe-owners";
import { unmanagedNotes } from "../../src/plan/unmanaged";
import { addr, config, hash, liveState, SIGNERS, TIMELOCK } from "./fixtures";

const describe_ = (calls: { description: string }[]) => calls.map((c) => c.description);

describe("planner (pure)", () => {
  it("a config equal to the chain plans nothing", () => {
    assert.deepEqual(planChanges(config(), liveState()), []);
  });

  it("set diffs: additions (sorted) before removals (sorted), each call revoking only when it removes", () => {
    const [a, b, c] = [hash("os-a"), hash("os-b"), hash("os-c")].sort();
    const calls = planChanges(
      config((cfg) => (cfg.kms.osImages = [c, a, b, hash("os-2")])),
      liveState(),
    );
    assert.deepEqual(
      calls.map((x) => [x.functionName, x.args[0], x.revokes]),
      [
        ["addOsImageHash", a, false],
        ["addOsImageHash", b, false],
        ["addOsImageHash", c, false],
        ["removeOsImageHash", hash("os-1"), true],
      ],
    );
    assert.ok(calls.every((x) => x.to === liveState().kms.proxy && x.sender === TIMELOCK));
  });

  it("absent sets and settings plan nothing; [] revokes every member", () => {
    const absent = config((cfg) => {
      delete cfg.kms.devices;
      delete cfg.kms.aggregatedMrs;
      delete cfg.apps![0].devices;
      delete cfg.apps![0].allowAnyDevice;
    });
    const live = liveState();
    live.apps[0].allowAnyDevice = true;
    live.kms.devices.push(hash("kms-device-2"));
    assert.deepEqual(planChanges(absent, live), []);
    assert.deepEqual(unmanagedNotes(absent, live), [
      "kms.aggregatedMrs: not managed, 1 on chain",
      "kms.devices: not managed, 2 on chain",
      "apps[0].devices: not managed, 1 on chain",
      "apps[0].allowAnyDevice: not managed, true on chain",
      "apps[0].requireTcbUpToDate: not managed, false on chain",
    ]);
    const emptied = planChanges(
      config((cfg) => (cfg.kms.devices = [])),
      liveState(),
    );
    assert.deepEqual(describe_(emptied), [`KMS: revoke KMS device ${hash("kms-device-1")}`]);
  });

  it("orders Safe signers, timelock, KMS, apps, then ownership transfers", () => {
    const newOwner = addr("new-owner");
    const calls = planChanges(
      config((cfg) => {
        if (cfg.governance.mode !== "safe+timelock") throw new Error("fixture");
        cfg.governance.safe.threshold = 3;
        cfg.governance.timelock.delay = "2h";
        cfg.kms.owner = newOwner;
        cfg.kms.gatewayAppId = "gateway-2";
        cfg.apps![0].composeHashes = [hash("compose-1"), hash("compose-2")];
      }),
      liveState(),
    );
    assert.deepEqual(
      calls.map((c) => `${c.resource}.${c.property}`),
      ["safe.threshold", "timelock.delay", "kms.gatewayAppId", "app:app-one.composeHashes", "kms.owner"],
    );
  });

  it("owner steps: swaps first, then additions, removals, and the threshold last; prevOwner follows the list", () => {
    const [s1, s2, s3] = SIGNERS;
    const [n1, n2] = [addr("n1"), addr("n2")].sort();
    const steps = planSafeOwnerSteps({ owners: [s1, s2, s3], threshold: 2 }, { owners: [s1, n1, n2], threshold: 3 });
    assert.deepEqual(
      steps.map((s) => encodeChange(s.change)).map((c) => [c.functionName, ...c.args]),
      [
        ["swapOwner", s1, s2, n1],
        ["swapOwner", n1, s3, n2],
        ["changeThreshold", 3n],
      ],
    );
    const shrink = planSafeOwnerSteps({ owners: [s1, s2, s3], threshold: 3 }, { owners: [s2], threshold: 1 });
    assert.deepEqual(
      shrink.map((s) => encodeChange(s.change)).map((c) => [c.functionName, ...c.args]),
      [
        ["removeOwner", SENTINEL_OWNER, s1, 1n],
        ["removeOwner", s2, s3, 1n],
      ],
    );
    const grow = planSafeOwnerSteps({ owners: [s1], threshold: 1 }, { owners: [s1, s2], threshold: 2 });
    assert.deepEqual(
      grow.map((s) => encodeChange(s.change)).map((c) => [c.functionName, ...c.args]),
      [["addOwnerWithThreshold", s2, 2n]],
    );
  });
});
