import assert from "node:assert/strict";
import { it } from "node:test";
import { governedCheck } from "../components/provider-runtime";
import { declaredInputs, declaredValues, type GovernedInputs } from "../components/inputs";

const base = { stack: "devnet", __pending: [] as string[], __config: {} };
const hash = `0x${"ab".repeat(32)}`;

it("check validates a resource's declared values with the engine's schema, naming the field", () => {
  const ok: GovernedInputs = {
    ...base,
    kind: "KmsPolicy",
    resource: "kms",
    declared: declaredInputs({ osImages: [hash], aggregatedMrs: [], devices: [] }),
  };
  assert.deepEqual(governedCheck(ok).failures, []);
  const badHash: GovernedInputs = {
    ...ok,
    declared: declaredInputs({ osImages: [hash, "0x12"], aggregatedMrs: [], devices: [] }),
  };
  assert.deepEqual(governedCheck(badHash).failures, [
    { property: "declared", reason: "kms.osImages.1: must be a 0x-prefixed 32-byte hex hash (66 characters)" },
  ]);
  const badSafe: GovernedInputs = {
    ...base,
    kind: "GovernanceSafe",
    resource: "safe",
    declared: declaredInputs({
      address: `0x${"11".repeat(20)}`,
      owners: [{ address: `0x${"22".repeat(20)}`, org: "a" }],
      threshold: 2,
    }),
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

it("sets are inputs keyed by member, so a diff shows added and removed members, and convert back losslessly", () => {
  const owners = [
    { address: `0x${"22".repeat(20)}`, org: "a" },
    { address: `0x${"33".repeat(20)}`, org: "b" },
  ];
  const values = { osImages: [hash, `0x${"cd".repeat(32)}`], owners, threshold: 2, info: { quote: "0x" } };
  const inputs = declaredInputs(values);
  assert.deepEqual(inputs, {
    osImages: { [hash]: true, [`0x${"cd".repeat(32)}`]: true },
    owners: { [owners[0].address]: "a", [owners[1].address]: "b" },
    threshold: 2,
    info: { quote: "0x" },
  });
  assert.deepEqual(declaredValues(inputs), values);
  // Reordering a set changes nothing; one member in, one out changes exactly those two keys.
  assert.deepEqual(declaredInputs({ osImages: [...values.osImages].reverse() }), { osImages: inputs.osImages });
  const next = declaredInputs({ osImages: [hash, `0x${"ef".repeat(32)}`] }).osImages as Record<string, true>;
  const before = inputs.osImages as Record<string, true>;
  assert.deepEqual(
    Object.keys(next).filter((k) => !(k in before)),
    [`0x${"ef".repeat(32)}`],
  );
  assert.deepEqual(
    Object.keys(before).filter((k) => !(k in next)),
    [`0x${"cd".repeat(32)}`],
  );
});
