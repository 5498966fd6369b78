import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planChanges } from "../../src/plan/plan";
import { fileCall } from "../../src/proposal/build";
import { contractLabels } from "../../src/proposal/describe";
import { callChanges, expectedState } from "../../src/proposal/effects";
import type { ProposalFile } from "../../src/proposal/types";
import {
  ProposalMismatchError,
  verifyProposalEffects,
  verifyProposalExpiry,
  verifyProposalOrganisations,
} from "../../src/proposal/verify";
import { addr, config, hash, liveState, SIGNERS } from "./fixtures";

const outsider = addr("outsider");
const desired = config((c) => {
  if (c.governance.mode !== "safe+timelock") throw new Error("fixture");
  c.kms.osImages = [hash("os-2"), hash("os-3")];
  c.kms.implementation = addr("kms-impl-2");
  c.governance.timelock.delay = "2h";
  c.governance.safe.owners[2] = { address: outsider, org: "org-new" };
});

/** The derived parts of a proposal file exactly as `pulumi up` writes them (the rest is not read here). */
function honestFile(): ProposalFile {
  const live = liveState();
  const calls = planChanges(desired, live);
  const changes = callChanges(live, calls);
  const labels = contractLabels(desired);
  return {
    id: "7-0badf00d",
    calls: calls.map((call, i) => ({
      ...fileCall(call, labels, desired),
      ...(changes[i] ? { change: changes[i] } : {}),
    })),
    organisations: { ...Object.fromEntries(SIGNERS.slice(0, 2).map((a, i) => [a, `org-${i}`])), [outsider]: "org-new" },
    expectedState: expectedState(live, calls),
  } as ProposalFile;
}

/** The field a check refuses the file for. */
function refusedField(check: () => void): string | undefined {
  try {
    check();
  } catch (error) {
    if (error instanceof ProposalMismatchError) return error.field;
    throw error;
  }
  return undefined;
}

describe("a proposal's derived text is replayed from its calldata, the chain and the config", () => {
  it("an honest file passes: each change and the expected state are the calls replayed on the plan's block", () => {
    const p = honestFile();
    assert.ok(p.calls.length >= 4 && p.calls.every((c) => c.change), "every call of this plan has a before → after");
    assert.equal(
      refusedField(() => verifyProposalEffects(p, liveState())),
      undefined,
    );
    assert.equal(
      refusedField(() => verifyProposalOrganisations(p, desired)),
      undefined,
    );
  });

  it("a forged before → after is refused naming the call", () => {
    const p = honestFile();
    const upgrade = p.calls.findIndex((c) => c.functionName === "upgradeToAndCall");
    p.calls[upgrade].change = "implementation unchanged (no-op re-initialisation)";
    assert.equal(
      refusedField(() => verifyProposalEffects(p, liveState())),
      `calls[${upgrade}].change`,
    );
    const q = honestFile();
    delete q.calls[0].change;
    assert.equal(
      refusedField(() => verifyProposalEffects(q, liveState())),
      "calls[0].change",
    );
  });

  it("a forged expected state is refused naming its part", () => {
    const p = honestFile();
    p.expectedState!.osImages = [hash("os-1"), hash("os-2")];
    assert.equal(
      refusedField(() => verifyProposalEffects(p, liveState())),
      "expectedState.osImages",
    );
    const q = honestFile();
    q.expectedState!.safe!.threshold = 1;
    assert.equal(
      refusedField(() => verifyProposalEffects(q, liveState())),
      "expectedState.safe",
    );
  });

  it("the same file replayed on another chain state is refused (the plan's block is what it was built from)", () => {
    const p = honestFile();
    const other = liveState();
    other.kms.implementation = addr("kms-impl-0");
    assert.match(refusedField(() => verifyProposalEffects(p, other)) ?? "", /^calls\[\d+\]\.change$/);
  });

  it("an organisation relabelled, or given to an address the config does not name, is refused naming it", () => {
    const p = honestFile();
    p.organisations![outsider] = "org-0";
    assert.equal(
      refusedField(() => verifyProposalOrganisations(p, desired)),
      `organisations.${outsider}`,
    );
    const q = honestFile();
    q.organisations![addr("attacker")] = "org-1";
    assert.equal(
      refusedField(() => verifyProposalOrganisations(q, desired)),
      `organisations.${addr("attacker")}`,
    );
  });
});

describe("the expiry this tool enforces on a stock timelock comes from the stack config, not the file", () => {
  const stock = config((c) => {
    if (c.governance.mode !== "safe+timelock") throw new Error("fixture");
    c.governance.timelock.kind = "openzeppelin";
  });
  const withTimelock = (timelock: Partial<NonNullable<ProposalFile["timelock"]>>) =>
    ({ id: "7-0badf00d", timelock }) as ProposalFile;
  const window = stock.governance.mode === "safe+timelock" ? stock.governance.timelock.expiration.toString() : "";

  it("the config's window passes; a wider one, or a claim that the contract enforces it, is refused by name", () => {
    assert.equal(
      refusedField(() => verifyProposalExpiry(withTimelock({ expiryEnforcedBy: "tool", expiration: window }), stock)),
      undefined,
    );
    assert.equal(
      refusedField(() =>
        verifyProposalExpiry(withTimelock({ expiryEnforcedBy: "tool", expiration: "315360000" }), stock),
      ),
      "timelock.expiration",
    );
    assert.equal(
      refusedField(() => verifyProposalExpiry(withTimelock({}), stock)),
      "timelock.expiryEnforcedBy",
    );
    assert.equal(
      refusedField(() => verifyProposalExpiry(withTimelock({ expiryEnforcedBy: "tool", expiration: window }), desired)),
      "timelock.expiryEnforcedBy",
    );
  });
});
