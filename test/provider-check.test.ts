import assert from "node:assert/strict";
import { it } from "node:test";
import { governedCheck } from "../components/provider-runtime";
import type { GovernedInputs } from "../components/inputs";

const base = { stack: "devnet", root: "/tmp", pending: [] as string[] };
const hash = `0x${"ab".repeat(32)}`;

it("check validates a resource's declared values with the engine's schema, naming the field", () => {
  const ok: GovernedInputs = {
    ...base,
    kind: "KmsPolicy",
    resource: "kms",
    declared: { osImages: [hash], aggregatedMrs: [], devices: [] },
  };
  assert.deepEqual(governedCheck(ok).failures, []);
  const badHash: GovernedInputs = { ...ok, declared: { osImages: [hash, "0x12"], aggregatedMrs: [], devices: [] } };
  assert.deepEqual(governedCheck(badHash).failures, [
    { property: "declared", reason: "kms.osImages.1: must be a 0x-prefixed 32-byte hex hash (66 characters)" },
  ]);
  const badSafe: GovernedInputs = {
    ...base,
    kind: "GovernanceSafe",
    resource: "safe",
    declared: {
      address: `0x${"11".repeat(20)}`,
      owners: [{ address: `0x${"22".repeat(20)}`, org: "a" }],
      threshold: 2,
    },
  };
  assert.match(governedCheck(badSafe).failures[0].reason, /^safe\.threshold: threshold 2 exceeds the 1 owners/);
  const badDelay: GovernedInputs = {
    ...base,
    kind: "Timelock",
    resource: "timelock",
    declared: { address: `0x${"11".repeat(20)}`, delay: "soon", expiration: "3d" },
  };
  assert.match(
    governedCheck(badDelay).failures[0].reason,
    /^timelock\.delay: must be a duration like "90m", "48h" or "14d"/,
  );
});
