import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeFunctionData, zeroAddress, zeroHash, type Address } from "viem";
import { dstackKmsAbi } from "../../src/chain/abis";
import { GOVERNED_SETS, GOVERNED_SETTINGS } from "../../src/governed/registry";
import { type Change, encodeChange } from "../../src/plan/changes";
import { contractLabels, describeCall } from "../../src/proposal/describe";
import { signerPacket } from "../../src/proposal/packet";
import type { DecodedCall, ProposalFile } from "../../src/proposal/types";
import { addr, config, hash, KMS, SAFE, SIGNERS, TIMELOCK } from "./fixtures";

const labels = contractLabels(config());
const setting = (property: string) => GOVERNED_SETTINGS.find((s) => s.property === property)!;

/** A call as a proposal file holds it: its text recomputed from the calldata, as every read checks it. */
function fileCall(to: Address, sender: Address, data: `0x${string}`): DecodedCall {
  const text = describeCall({ to, sender, data }, labels);
  return { ...text, property: "", to, sender, data };
}
const planned = (to: Address, sender: Address, change: Change) => fileCall(to, sender, encodeChange(change).data);

/** The fields the packet reads besides the calls, as `pulumi up` writes them for a safe+timelock stack. */
function proposal(calls: DecodedCall[]): ProposalFile {
  return {
    format: "dstack-governance-proposal/1",
    id: "3-0badf00d",
    stack: "devnet",
    chainId: 31337,
    route: "safe+timelock",
    plannedAtBlock: "100",
    plannedAt: "2026-11-30T12:00:00.000Z",
    emergency: false,
    safe: { address: SAFE, nonce: "0", threshold: 2, owners: SIGNERS },
    safeTx: {
      to: TIMELOCK,
      value: "0",
      data: "0x",
      operation: 0,
      safeTxGas: "0",
      baseGas: "0",
      gasPrice: "0",
      gasToken: zeroAddress,
      refundReceiver: zeroAddress,
      nonce: "0",
    },
    safeTxHash: hash("safe-tx"),
    eip712: { domainHash: hash("domain"), messageHash: hash("message") },
    timelock: {
      address: TIMELOCK,
      operationId: hash("operation"),
      salt: zeroHash,
      predecessor: zeroHash,
      delay: "3600",
      targets: [],
      values: [],
      payloads: [],
      cancels: [],
    },
    calls,
    signatures: [],
  };
}

const warningLines = (p: ProposalFile) =>
  signerPacket(p)
    .split("\n")
    .filter((line) => line.startsWith("> - "));

const IMMEDIATELY = "takes effect IMMEDIATELY when the Safe transaction executes, without the timelock delay";
const DELAYED = "runs through the timelock, after the delay";

describe("the signer packet's WARNING list", () => {
  it("names every call that alters governance itself by the part it alters, from its typed change", () => {
    const osImages = GOVERNED_SETS.find((s) => s.property === "osImages")!;
    const calls = [
      planned(SAFE, SAFE, { kind: "safe.add-owner", owner: addr("new"), threshold: 3 }),
      planned(SAFE, SAFE, { kind: "safe.through-module", safe: SAFE, inner: { kind: "safe.threshold", threshold: 3 } }),
      planned(TIMELOCK, TIMELOCK, { kind: "timelock.delay", delay: 7200n }),
      planned(TIMELOCK, TIMELOCK, { kind: "timelock.revoke-role", roleId: hash("role"), account: addr("outsider") }),
      planned(KMS, TIMELOCK, { kind: "owner.transfer", newOwner: SAFE }),
      planned(KMS, SAFE, { kind: "owner.accept" }),
      planned(KMS, TIMELOCK, { kind: "upgrade", implementation: addr("kms-impl-2"), data: "0x" }),
      planned(KMS, TIMELOCK, { kind: "setting", setting: setting("appImplementation"), value: addr("app-impl-2") }),
      // Items, settings and running another proposal's batch alter no part of governance.
      planned(KMS, TIMELOCK, { kind: "set.add", set: osImages, item: hash("os-3") }),
      planned(KMS, TIMELOCK, { kind: "setting", setting: setting("gatewayAppId"), value: "gateway-2" }),
      planned(TIMELOCK, SAFE, {
        kind: "timelock.execute",
        operation: { targets: [KMS], values: [0n], payloads: ["0x1234"], predecessor: zeroHash, salt: hash("salt") },
      }),
    ];
    assert.deepEqual(warningLines(proposal(calls)), [
      `> - **Safe signer/threshold change**: ${calls[0].description} (${IMMEDIATELY})`,
      `> - **Safe signer/threshold change**: ${calls[1].description} (${IMMEDIATELY})`,
      `> - **Timelock role/delay change**: ${calls[2].description} (${DELAYED})`,
      `> - **Timelock role/delay change**: ${calls[3].description} (${DELAYED})`,
      `> - **Ownership transfer**: ${calls[4].description} (${DELAYED})`,
      `> - **Ownership transfer**: ${calls[5].description} (${IMMEDIATELY})`,
      `> - **Upgrade**: ${calls[6].description} (${DELAYED})`,
      `> - **Upgrade**: ${calls[7].description} (${DELAYED})`,
    ]);
  });

  it("a call no typed change describes (one this tool never plans) is a warning too", () => {
    const renounce = fileCall(
      KMS,
      TIMELOCK,
      encodeFunctionData({ abi: dstackKmsAbi, functionName: "renounceOwnership" }),
    );
    const unknown = fileCall(KMS, TIMELOCK, "0xdeadbeef");
    assert.equal(renounce.description, "KMS: renounceOwnership()");
    assert.deepEqual(warningLines(proposal([renounce, unknown])), [
      `> - **A call this tool does not plan**: KMS: renounceOwnership() (${DELAYED})`,
      `> - **A call this tool does not plan**: KMS: UNKNOWN call with selector 0xdeadbeef (${DELAYED})`,
    ]);
  });

  it("a proposal of items only has no WARNING", () => {
    const osImages = GOVERNED_SETS.find((s) => s.property === "osImages")!;
    const text = signerPacket(
      proposal([planned(KMS, TIMELOCK, { kind: "set.remove", set: osImages, item: hash("os-1") })]),
    );
    assert.ok(!text.includes("WARNING"), text);
  });
});
