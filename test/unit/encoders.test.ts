import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { concat, encodeAbiParameters, keccak256, pad, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { attributeEvents } from "../../cli/attribution";
import type { GovernanceEvent } from "../../cli/audit-events";
import { packSignatures } from "../../src/proposal/execute";
import { hashOperationBatch, operationSalt } from "../../src/proposal/operation";
import type { ProposalFile } from "../../src/proposal/types";
import { addr, hash, KMS, SAFE, TIMELOCK } from "./fixtures";

describe("encoders, signature packing, attribution (pure)", () => {
  it("the timelock operation id is keccak256(abi.encode(targets, values, payloads, predecessor, salt)); the salt binds Safe and nonce", () => {
    const salt = operationSalt(SAFE, 7n);
    assert.notEqual(salt, operationSalt(SAFE, 8n));
    assert.notEqual(salt, operationSalt(addr("other-safe"), 7n));
    const zero = pad("0x0");
    const expected = keccak256(
      encodeAbiParameters(
        [{ type: "address[]" }, { type: "uint256[]" }, { type: "bytes[]" }, { type: "bytes32" }, { type: "bytes32" }],
        [[KMS], [0n], ["0x1234"], zero, salt],
      ),
    );
    assert.equal(hashOperationBatch([KMS], [0n], ["0x1234"], zero, salt), expected);
  });

  it("signatures are packed by ascending owner, approvals as pre-validated (r = owner, s = 0, v = 1), cut at the threshold", async () => {
    const keys = ["0x" + "11".repeat(32), "0x" + "22".repeat(32), "0x" + "33".repeat(32)] as Hex[];
    const accounts = keys.map((k) => privateKeyToAccount(k));
    const signed = await Promise.all(
      accounts.slice(0, 2).map(async (a) => ({ signer: a.address, data: await a.sign({ hash: hash("safe-tx") }) })),
    );
    const approver = accounts[2].address;
    const packed = packSignatures(signed, [approver], 3);
    const byOwner = [
      ...signed.map((s) => [s.signer, s.data] as const),
      [approver, concat([pad(approver), pad("0x0"), "0x01"])] as const,
    ].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1));
    assert.equal(packed, concat(byOwner.map(([, sig]) => sig)));
    assert.equal((packed.length - 2) / 2, 65 * 3);
    assert.equal((packSignatures(signed, [approver], 2).length - 2) / 2, 65 * 2, "only threshold signatures");
    // An owner who both signed and approved on chain counts once, as the approval.
    assert.equal(
      packSignatures(signed, [signed[0].signer], 1).length,
      packSignatures([], [signed[0].signer], 1).length,
    );
  });

  it("a change is explained only by the execution of a proposal that calls that contract", () => {
    const proposal = {
      id: "p1",
      safeTxHash: hash("safe-tx-1"),
      safe: { address: SAFE },
      timelock: { address: TIMELOCK, operationId: hash("op-1"), targets: [KMS] },
      calls: [{ to: KMS }],
    } as unknown as ProposalFile;
    const event = (e: Partial<GovernanceEvent>): GovernanceEvent => ({
      blockNumber: 1n,
      logIndex: 0,
      time: 0n,
      txHash: hash("tx-a"),
      from: addr("executor"),
      contract: "kms",
      address: KMS,
      event: "OsImageHashAdded",
      args: {},
      isChange: true,
      ...e,
    });
    const events = [
      event({
        contract: "timelock",
        address: TIMELOCK,
        event: "CallExecuted",
        args: { id: hash("op-1") },
        isChange: false,
      }),
      event({}),
      event({ txHash: hash("tx-b"), from: addr("rogue-admin") }),
    ];
    const attributed = attributeEvents(events, [proposal]);
    assert.deepEqual(
      attributed.map((e) => [e.event, e.proposal, e.unexplained]),
      [
        ["CallExecuted", "p1", false],
        ["OsImageHashAdded", "p1", false],
        ["OsImageHashAdded", undefined, true],
      ],
    );
  });
});
