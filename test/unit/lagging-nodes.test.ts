import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { namedBlock } from "../../src/chain/lagging-nodes";

const hash = `0x${"Ab".repeat(32)}`;

describe("the block a request reads at", () => {
  it("is found where each method names it, numbers without leading zeros and hashes in lower case", () => {
    assert.equal(namedBlock("eth_getBlockByNumber", ["0x0f4240", false]), "0xf4240");
    assert.equal(namedBlock("eth_getBlockByHash", [hash, false]), hash.toLowerCase());
    assert.equal(namedBlock("eth_call", [{ to: "0x01" }, { blockHash: hash }]), hash.toLowerCase());
    assert.equal(namedBlock("eth_call", [{ to: "0x01" }, "0x10", { "0x01": { code: "0x" } }]), "0x10");
    assert.equal(namedBlock("eth_getStorageAt", ["0x01", "0x0", { blockNumber: "0x0010" }]), "0x10");
    assert.equal(namedBlock("eth_getLogs", [{ fromBlock: "0x0", toBlock: "0x20" }]), "0x20");
    assert.equal(namedBlock("eth_getLogs", [{ blockHash: hash }]), hash.toLowerCase());
  });

  it("is none for a tag, which every node resolves to a block it has, or a method that names no block", () => {
    assert.equal(namedBlock("eth_getBlockByNumber", ["latest", false]), undefined);
    assert.equal(namedBlock("eth_call", [{ to: "0x01" }, "finalized"]), undefined);
    assert.equal(namedBlock("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest" }]), undefined);
    assert.equal(namedBlock("eth_chainId", []), undefined);
    assert.equal(namedBlock("eth_getStorageAt", ["0x01", "0x0"]), undefined);
  });
});
