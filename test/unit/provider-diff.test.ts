import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ProposalInputs } from "../../components/inputs";
import { proposalDiff } from "../../components/provider-runtime";

const inSync: ProposalInputs = {
  stack: "devnet",
  mode: "safe+timelock",
  __calls: [],
  __executable: [],
  __measured: {},
  __executeThroughSafe: [],
  __block: "41",
  __config: {},
  __keys: {},
};

describe("the proposal resource's diff", () => {
  it("a block that moved is no change: an in-sync preview stays quiet", () => {
    assert.deepEqual(proposalDiff({ ...inSync, __block: "42" }), { changes: false });
    assert.deepEqual(proposalDiff({ ...inSync, __block: undefined }), { changes: false });
  });
  it("a call to propose is a change", () => {
    assert.deepEqual(proposalDiff({ ...inSync, __calls: ["KMS: authorize OS image 0x01"] }), { changes: true });
  });
});
