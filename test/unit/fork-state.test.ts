import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeFunctionData, multicall3Abi, zeroAddress, type Hex } from "viem";
import { MULTICALL3_ADDRESS } from "../../src/chain/client";
import { ForkState, hasCode, slotWord, type AccountProof } from "../../src/chain/fork-state";
import { APP_FLAGS_SLOT, IMPLEMENTATION_SLOT, scalarReadCalls } from "../../src/chain/read-state";
import { accountsToLoad, forkCalls, historySlots, scalarReadCall, stackAccounts } from "../../src/policy/fork-prefetch";
import { encodeApproveHash } from "../../src/proposal/safe-tx";
import type { ProposalFile, TimelockOperation } from "../../src/proposal/types";
import { addr, APP, config, hash, KMS, liveState, SAFE, SIGNERS, TIMELOCK } from "./fixtures";

const EMPTY_CODE_HASH: Hex = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";
const call = (method: string, ...params: unknown[]) => ({ id: 1, method, params });

/** An eth_getProof answer as geth writes it: quantities without padding. */
function proof(address: Hex, storage: Record<string, Hex>, codeHash: Hex = hash("code")): AccountProof {
  return {
    address,
    balance: "0xde0b6b3a7640000",
    nonce: "0x7",
    codeHash,
    storageProof: Object.entries(storage).map(([key, value]) => ({ key: key as Hex, value })),
  };
}

describe("fork state cache: eth_getProof answers served as the fork's one-at-a-time reads (pure)", () => {
  const state = new ForkState(0x21n);
  state.addProof(
    proof(KMS.toLowerCase() as Hex, { [slotWord("0x4")]: "0x1f", [IMPLEMENTATION_SLOT]: "0x0" }),
    "0x6001",
  );

  it("balance and nonce as quantities, code as given, anvil's eth_getAccountInfo as all three", () => {
    assert.deepEqual(state.answer(call("eth_getBalance", KMS, "0x21")), { result: "0xde0b6b3a7640000" });
    assert.deepEqual(state.answer(call("eth_getTransactionCount", KMS, "0x21")), { result: "0x7" });
    assert.deepEqual(state.answer(call("eth_getCode", KMS, "0x21")), { result: "0x6001" });
    assert.deepEqual(state.answer(call("eth_getAccountInfo", KMS.toLowerCase(), "0x21")), {
      result: { balance: "0xde0b6b3a7640000", nonce: "0x7", code: "0x6001" },
    });
  });

  it("storage words come back 32 bytes long, whatever the slot's spelling (anvil asks 0x4, proofs key 32 bytes)", () => {
    assert.deepEqual(state.answer(call("eth_getStorageAt", KMS.toLowerCase(), "0x4", "0x21")), {
      result: `0x${"0".repeat(62)}1f`,
    });
    assert.deepEqual(state.answer(call("eth_getStorageAt", KMS, slotWord("0x04"), "0x21")), {
      result: `0x${"0".repeat(62)}1f`,
    });
    assert.deepEqual(state.answer(call("eth_getStorageAt", KMS, IMPLEMENTATION_SLOT.toUpperCase(), "0x21")), {
      result: `0x${"0".repeat(64)}`,
    });
  });

  it("anything not held, or read at another block or a moving tag, is left to the RPC", () => {
    assert.equal(state.answer(call("eth_getStorageAt", KMS, "0x5", "0x21")), undefined);
    assert.equal(state.answer(call("eth_getBalance", APP, "0x21")), undefined);
    assert.equal(state.answer(call("eth_getBalance", KMS, "0x22")), undefined);
    assert.equal(state.answer(call("eth_getBalance", KMS, "latest")), undefined);
    assert.equal(state.answer(call("eth_getStorageAt", KMS, "0x4", "pending")), undefined);
    assert.equal(state.answer(call("eth_getBlockByNumber", "0x21", false)), undefined);
    assert.equal(state.answer(call("eth_chainId")), undefined);
    assert.equal(state.pinnedRead(call("eth_getBalance", KMS, "latest")), undefined);
    assert.deepEqual(state.pinnedRead(call("eth_getStorageAt", KMS.toLowerCase(), "0x4", "0x21")), {
      address: KMS,
      slot: slotWord("0x4"),
      block: "0x21",
    });
  });

  it("a word read on its own joins the cache; an account without code needs no eth_getCode", () => {
    state.addStorage(KMS, "0x5", "0x0000000000000000000000000000000000000000000000000000000000000002");
    assert.equal(state.hasStorage(KMS, slotWord("0x5")), true);
    assert.deepEqual(state.answer(call("eth_getStorageAt", KMS, "0x5", "0x21")), { result: slotWord("0x2") });
    assert.equal(hasCode(proof(SAFE, {})), true);
    assert.equal(hasCode(proof(SAFE, {}, EMPTY_CODE_HASH)), false);
    assert.equal(
      hasCode(proof(SAFE, {}, `0x${"0".repeat(64)}`)),
      false,
      "geth's answer for an account that does not exist",
    );
  });
});

describe("fork prefetch: what the convergence proof's fork will load, named ahead (pure)", () => {
  const live = liveState();
  const op: TimelockOperation = {
    address: TIMELOCK,
    operationId: hash("op"),
    salt: hash("salt"),
    predecessor: `0x${"0".repeat(64)}`,
    delay: "3600",
    targets: [KMS],
    values: ["0"],
    payloads: ["0x1234"],
    cancels: [],
  };
  const proposal = {
    safeTxHash: hash("safe-tx"),
    safeTx: { to: TIMELOCK, value: "0", data: "0xabcd", operation: 0 },
    calls: [{ to: KMS, sender: TIMELOCK, data: "0x5678" }],
  } as unknown as ProposalFile;

  it("each approver's approveHash, the Safe transaction's own call, each governed call and each queued target from its executor", () => {
    const queued = { ...op, targets: [APP], payloads: ["0x9999" as Hex] };
    assert.deepEqual(forkCalls(live, proposal, SIGNERS.slice(0, 2), [queued]), [
      { from: SIGNERS[0], to: SAFE, data: encodeApproveHash(hash("safe-tx")) },
      { from: SIGNERS[1], to: SAFE, data: encodeApproveHash(hash("safe-tx")) },
      { from: SAFE, to: TIMELOCK, data: "0xabcd", value: 0n },
      { from: TIMELOCK, to: KMS, data: "0x5678" },
      { from: TIMELOCK, to: APP, data: "0x9999", value: 0n },
    ]);
    // A delegatecall (MultiSend) cannot run as a plain call from the Safe: its calls stand for it.
    const multisend = { ...proposal, safeTx: { ...proposal.safeTx, operation: 1 } } as ProposalFile;
    assert.equal(
      forkCalls(live, multisend, [SIGNERS[0]], []).some((c) => c.to === TIMELOCK),
      false,
    );
  });

  it("the re-read's getters are one aggregate3 call to Multicall3, with every scalar getter", () => {
    const reread = scalarReadCall(config());
    assert.equal(reread.to, MULTICALL3_ADDRESS);
    assert.equal(reread.from, zeroAddress);
    const { functionName, args } = decodeFunctionData({ abi: multicall3Abi, data: reread.data });
    assert.equal(functionName, "aggregate3");
    const calls = args[0] as readonly { target: Hex; allowFailure: boolean }[];
    assert.equal(calls.length, scalarReadCalls(config()).length);
    assert.ok(calls.every((c) => c.allowFailure));
    assert.deepEqual(new Set(calls.map((c) => c.target)), new Set([KMS, APP, SAFE, TIMELOCK]));
  });

  it("the history contract's slots of the blocks the fork mines, wrapping at 8,191", () => {
    assert.deepEqual([...historySlots(0x21n, 3).values()][0], ["0x21", "0x22", "0x23"]);
    assert.deepEqual([...historySlots(8190n, 3).values()][0], ["0x1ffe", "0x0", "0x1"]);
  });

  it("accounts merge the stack's own, every call's ends and every access list entry, once each", () => {
    const base = stackAccounts(live, SIGNERS[0]);
    assert.deepEqual(base.get(KMS), [IMPLEMENTATION_SLOT]);
    assert.deepEqual(base.get(APP), [IMPLEMENTATION_SLOT, APP_FLAGS_SLOT]);
    assert.ok(base.has(live.kms.implementation) && base.has(SIGNERS[0]) && base.has(MULTICALL3_ADDRESS));
    const slot = hash("members[item]");
    const accounts = accountsToLoad(
      base,
      [
        { from: TIMELOCK, to: KMS, data: "0x" },
        { from: addr("stranger"), to: KMS, data: "0x" },
      ],
      [
        [{ address: KMS.toLowerCase() as Hex, storageKeys: [slot, IMPLEMENTATION_SLOT.toUpperCase() as Hex] }],
        [{ address: addr("kms-impl-1"), storageKeys: [] }],
      ],
    );
    assert.deepEqual(accounts.get(KMS), [IMPLEMENTATION_SLOT, slot]);
    assert.deepEqual(accounts.get(addr("stranger")), []);
    assert.equal([...accounts.keys()].filter((a) => a.toLowerCase() === KMS.toLowerCase()).length, 1);
  });
});
