import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StackConfigInput } from "../../src/config/schema";
import { planChanges } from "../../src/plan/plan";
import { checkPolicy } from "../../src/policy/check";
import { stateAfter } from "../../src/policy/state-after";
import { describeCall, contractLabels } from "../../src/proposal/describe";
import { addr, config, liveState, SAFE, SIGNERS, TIMELOCK } from "./fixtures";

const newSigner = addr("signer-4");
/** Replaces the third signer, with the given route (absent: the tier's default). */
const swapping = (route?: "through-timelock" | "immediate", tier?: "production") =>
  config((c: StackConfigInput) => {
    if (c.governance.mode !== "safe+timelock") throw new Error("fixture");
    c.governance.safe.owners[2] = { address: newSigner, org: "org-4" };
    if (route) c.governance.timelock.safeChanges = route;
    if (tier) c.network.tier = tier;
  });

describe("Safe signer-change route (governance.timelock.safeChanges)", () => {
  it("through-timelock: the timelock is enabled as a module once, and schedules the swap as a module call", () => {
    const desired = swapping("through-timelock");
    const calls = planChanges(desired, liveState());
    assert.deepEqual(
      calls.map((c) => [c.functionName, c.sender]),
      [
        ["enableModule", SAFE],
        ["execTransactionFromModule", TIMELOCK],
      ],
    );
    assert.deepEqual(stateAfter(liveState(), calls).safe!.owners, [SIGNERS[0], SIGNERS[1], newSigner]);
    const text = describeCall(calls[1], contractLabels(desired));
    assert.equal(
      text.description,
      `Safe: replace signer ${SIGNERS[2]} with ${newSigner}, as a module call from ${TIMELOCK}`,
    );
    const enabled = { ...liveState(), safe: { ...liveState().safe!, timelockModule: true } };
    assert.deepEqual(
      planChanges(desired, enabled).map((c) => c.functionName),
      ["execTransactionFromModule"],
      "the module is enabled once",
    );
    assert.deepEqual(checkPolicy(desired, liveState(), calls).warnings, []);
  });

  it("immediate: Safe self-calls, a loud preview warning; production refuses it unless overridden", () => {
    const calls = planChanges(swapping(), liveState());
    assert.deepEqual(
      calls.map((c) => [c.functionName, c.sender]),
      [["swapOwner", SAFE]],
      "non-production default",
    );
    const [warning] = checkPolicy(swapping(), liveState(), calls).warnings;
    assert.equal(warning.rule, "signers.immediate");
    assert.match(warning.message, /IMMEDIATELY .* without the timelock delay: Safe: replace signer/);

    assert.ok(!checkPolicy(swapping(undefined, "production")).errors.some((f) => f.rule === "signers.immediate"));
    assert.equal(
      planChanges(swapping(undefined, "production"), liveState())[0].functionName,
      "enableModule",
      "production default: through the timelock",
    );
    const errors = checkPolicy(swapping("immediate", "production")).errors;
    assert.ok(errors.some((f) => f.rule === "signers.immediate" && f.path === "governance.timelock.safeChanges"));
    const overridden = config((c) => {
      if (c.governance.mode !== "safe+timelock") throw new Error("fixture");
      c.network.tier = "production";
      c.governance.timelock.safeChanges = "immediate";
      c.policy = { overrides: [{ rule: "signers.immediate", reason: "signer rotation must not wait a day here" }] };
    });
    const policy = checkPolicy(overridden);
    assert.ok(!policy.errors.some((f) => f.rule === "signers.immediate"));
    assert.ok(
      policy.overrides.some((o) => o.rule === "signers.immediate"),
      "the reason is recorded",
    );
  });
});
