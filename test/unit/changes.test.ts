import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { zeroAddress, zeroHash } from "viem";
import { TIMELOCK_ROLES } from "../../src/chain/read-state";
import { changeEventsOf, GOVERNED_SETS, GOVERNED_SETTINGS, setAddedBy, setsOf } from "../../src/governed/registry";
import {
  type Change,
  decodeCallData,
  decodeChange,
  encodeChange,
  implementationOf,
  revokes,
} from "../../src/plan/changes";
import { planChanges } from "../../src/plan/plan";
import { implementationPath } from "../../src/policy/upgrade-checks";
import { addr, config, hash, liveState, SAFE, SIGNERS, TIMELOCK } from "./fixtures";

const setting = (property: string) => GOVERNED_SETTINGS.find((s) => s.property === property)!;

/** One change of every kind the planner and the executor emit. */
const EVERY_KIND: Change[] = [
  ...GOVERNED_SETS.flatMap((set): Change[] => [
    { kind: "set.add", set, item: hash(`${set.property}-in`) },
    { kind: "set.remove", set, item: hash(`${set.property}-out`) },
  ]),
  { kind: "setting", setting: setting("gatewayAppId"), value: "gateway-2" },
  { kind: "setting", setting: setting("appImplementation"), value: addr("app-impl-2") },
  { kind: "setting", setting: setting("allowAnyDevice"), value: false },
  { kind: "setting", setting: setting("requireTcbUpToDate"), value: true },
  { kind: "safe.add-owner", owner: addr("new"), threshold: 3 },
  { kind: "safe.remove-owner", prevOwner: SIGNERS[0], owner: SIGNERS[1], threshold: 1 },
  { kind: "safe.swap-owner", prevOwner: SIGNERS[0], oldOwner: SIGNERS[1], newOwner: addr("new") },
  { kind: "safe.threshold", threshold: 2 },
  { kind: "safe.enable-module", module: addr("timelock") },
  { kind: "safe.through-module", safe: addr("safe"), inner: { kind: "safe.threshold", threshold: 3 } },
  { kind: "timelock.delay", delay: 7200n },
  { kind: "timelock.expiration", expiration: 86400n },
  { kind: "timelock.grant-role", roleId: TIMELOCK_ROLES.proposer, account: SAFE },
  { kind: "timelock.revoke-role", roleId: TIMELOCK_ROLES.executor, account: addr("outsider") },
  { kind: "owner.transfer", newOwner: TIMELOCK },
  { kind: "owner.transfer", newOwner: zeroAddress },
  { kind: "owner.accept" },
  { kind: "upgrade", implementation: addr("kms-impl-2"), data: "0x" },
  {
    kind: "timelock.execute",
    operation: {
      targets: [addr("kms")],
      values: [0n],
      payloads: ["0x1234"],
      predecessor: zeroHash,
      salt: hash("salt"),
    },
  },
];

describe("typed changes: one encoder, one decoder", () => {
  it("every kind encodes to calldata that decodes back to the same change", () => {
    for (const change of EVERY_KIND) {
      const encoded = encodeChange(change);
      assert.deepEqual(decodeChange(encoded.functionName, encoded.args), change, change.kind);
      assert.deepEqual(decodeCallData(encoded.data), change, `${change.kind} from calldata`);
    }
  });

  it("calldata of a function the tool does not govern decodes to nothing", () => {
    assert.equal(decodeCallData("0xdeadbeef"), undefined);
    assert.equal(decodeChange("setGuard", [addr("guard")]), undefined);
  });

  it("revocations: removals, a removed signer or role, a cancelled transfer, a tighter device or TCB rule", () => {
    const revoking = EVERY_KIND.filter(revokes).map((c) => (c.kind === "setting" ? c.setting.property : c.kind));
    assert.deepEqual(revoking, [
      ...GOVERNED_SETS.map(() => "set.remove"),
      "allowAnyDevice",
      "requireTcbUpToDate",
      "safe.remove-owner",
      "timelock.revoke-role",
      "owner.transfer",
    ]);
  });

  it("the planner emits typed changes; the policy paths come from them", () => {
    const live = liveState();
    const calls = planChanges(
      config((c) => {
        c.kms.osImages = [hash("os-1"), hash("os-3")];
        c.kms.implementation = addr("kms-impl-2");
        c.kms.appImplementation = addr("app-impl-9");
      }),
      live,
    );
    const kinds = calls.map((c) => c.change.kind);
    assert.deepEqual(kinds, ["upgrade", "setting", "set.add", "set.remove"]);
    const [upgrade, factory] = calls;
    assert.equal(implementationOf(upgrade.change), addr("kms-impl-2"));
    assert.equal(implementationOf(factory.change), addr("app-impl-9"));
    assert.equal(implementationPath(config(), upgrade), "kms.implementation");
    assert.equal(implementationPath(config(), factory), "kms.appImplementation");
    for (const call of calls) assert.equal(call.data, encodeChange(call.change).data);
  });
});

describe("registry of governed properties", () => {
  it("each set names distinct functions and events; audit events and membership lookups derive from it", () => {
    const names = GOVERNED_SETS.flatMap((s) => [s.getter, s.add, s.remove, s.events.added, s.events.removed]);
    assert.equal(new Set(names).size, names.length);
    assert.deepEqual(
      setsOf("app").map((s) => s.property),
      ["composeHashes", "devices"],
    );
    assert.equal(setAddedBy("kms", "OsImageHashAdded")?.property, "osImages");
    assert.equal(setAddedBy("kms", "OsImageHashRemoved"), undefined);
    assert.deepEqual(changeEventsOf("app").sort(), [
      "AllowAnyDeviceSet",
      "ComposeHashAdded",
      "ComposeHashRemoved",
      "DeviceAdded",
      "DeviceRemoved",
      "RequireTcbUpToDateSet",
    ]);
  });
});
