import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFunctionData, getAddress, type Address } from "viem";
import { dstackKmsAbi, safeAbi } from "../src/chain/abis";
import { addressProblem, addressWarnings } from "../src/config/addresses";
import { describeCall, type ContractLabel } from "../src/proposal/describe";
import { parseProposalFile, UnreadableProposalError } from "../src/proposal/schema";

const kms = getAddress("0x9a676e781a523b5d0c0e43731313a708cb607508");
const safe = getAddress("0x399c61b017a871181d8b6c418c93a8bb361e3db8");
const labels = new Map<Address, ContractLabel>([
  [kms, { resource: "kms", label: "KMS", abi: dstackKmsAbi }],
  [safe, { resource: "safe", label: "Safe", abi: safeAbi }],
]);

describe("proposal text from calldata, proposal file schema, address checks (pure)", () => {
  it("describes a call from its calldata alone", () => {
    const hash = `0x${"ab".repeat(32)}` as const;
    const remove = describeCall(
      {
        to: kms,
        sender: safe,
        data: encodeFunctionData({ abi: dstackKmsAbi, functionName: "removeOsImageHash", args: [hash] }),
      },
      labels,
    );
    assert.deepEqual(remove, {
      resource: "kms",
      functionName: "removeOsImageHash",
      signature: "removeOsImageHash(bytes32)",
      args: [hash],
      description: `KMS: revoke OS image ${hash}`,
      revokes: true,
    });
    const threshold = describeCall(
      {
        to: safe,
        sender: safe,
        data: encodeFunctionData({ abi: safeAbi, functionName: "changeThreshold", args: [3n] }),
      },
      labels,
    );
    assert.equal(threshold.description, "Safe: set threshold to 3");
    assert.equal(threshold.revokes, false);
    const unknown = describeCall({ to: kms, sender: safe, data: "0xdeadbeef" }, labels);
    assert.equal(unknown.description, "KMS: UNKNOWN call with selector 0xdeadbeef");
  });

  it("a proposal file that is not JSON, of another format or with an unknown key is named unreadable", () => {
    assert.throws(
      () => parseProposalFile("1-aa.json", '{ "format": '),
      (e: unknown) => e instanceof UnreadableProposalError && /^1-aa\.json: unreadable \(not JSON: /.test(e.message),
    );
    assert.throws(
      () => parseProposalFile("1-aa.json", JSON.stringify({ format: "dstack-governance-proposal/0" })),
      /1-aa\.json: unreadable \(format: /,
    );
    assert.throws(
      () => parseProposalFile("1-aa.json", JSON.stringify({ format: "dstack-governance-proposal/1", note: "x" })),
      /note/,
    );
  });

  it("EIP-55: a broken mixed-case checksum is an error; one-case addresses are warnings naming the checksummed form", () => {
    const flipped = `${kms.slice(0, 3)}${kms[3] === "A" ? "a" : "A"}${kms.slice(4)}`;
    assert.match(addressProblem(flipped) ?? "", /EIP-55 checksum/);
    assert.equal(addressProblem(kms), undefined);
    assert.equal(addressProblem(kms.toLowerCase()), undefined);
    assert.deepEqual(addressWarnings({ kms: { proxy: kms.toLowerCase() }, apps: [{ proxy: kms }] }), [
      {
        rule: "address.checksum",
        path: "kms.proxy",
        message: `${kms.toLowerCase()} has no EIP-55 checksum, so a typo in it would go unnoticed`,
        fix: `write it as ${kms}`,
      },
    ]);
  });
});
