import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeFunctionData,
  encodeAbiParameters,
  encodeFunctionResult,
  multicall3Abi,
  pad,
  toHex,
  type Address,
  type Hex,
} from "viem";
import { decodeAggregate3, encodeAggregate3, MalformedMulticallError } from "../../src/chain/multicall";

const targets: Address[] = ["0x9A676e781A523b5d0C0e43731313A708CB607508", "0x8e80FFe6Dc044F4A766Afd6e5a8732Fe0977A493"];
// Calldata of every padding case: empty, a selector alone, a word and a selector, exactly two words, odd lengths.
const calldatas: Hex[] = [
  "0x",
  "0x8da5cb5b",
  `0x2c0a8e6f${"ab".repeat(32)}`,
  `0x${"cd".repeat(64)}`,
  "0x01",
  `0x${"ef".repeat(33)}`,
];
const calls = calldatas.map((callData, i) => ({ target: targets[i % 2], callData }));

const aggregate3Result = (results: { success: boolean; returnData: Hex }[]) =>
  encodeFunctionResult({ abi: multicall3Abi, functionName: "aggregate3", result: results });

describe("Multicall3 aggregate3 codec", () => {
  it("encodes exactly what viem's ABI encoder does, every call allowed to fail", () => {
    const decoded = decodeFunctionData({ abi: multicall3Abi, data: encodeAggregate3(calls) });
    assert.equal(decoded.functionName, "aggregate3");
    assert.deepEqual(
      decoded.args?.[0],
      calls.map((c) => ({ target: c.target, allowFailure: true, callData: c.callData })),
    );
    assert.equal(
      encodeAggregate3([]),
      "0x82ad56cb00000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000000",
    );
  });

  it("decodes what viem's ABI encoder writes: successes, failures, empty and long return data", () => {
    const results = [
      { success: true, returnData: pad("0x01") },
      { success: false, returnData: "0x" as Hex },
      {
        success: true,
        returnData: encodeAbiParameters([{ type: "string" }], ["a reason longer than one word, to pad"]),
      },
      { success: false, returnData: "0x08c379a0" as Hex },
    ];
    assert.deepEqual(decodeAggregate3(aggregate3Result(results), results.length), results);
  });

  it("refuses answers that are not aggregate3's shape instead of reading garbage", () => {
    const good = aggregate3Result([{ success: true, returnData: pad("0x01") }]);
    const refusals: [string, Hex, RegExp][] = [
      ["an empty answer (no contract at the address)", "0x", /reads past its 0 bytes/],
      ["another count of results", good, /1 results for 2 calls/],
      ["a truncated answer", good.slice(0, -64) as Hex, /reads past/],
      [
        "a success flag that is not a bool",
        `${good.slice(0, 2 + 64 * 3)}${pad("0x02").slice(2)}${good.slice(2 + 64 * 4)}` as Hex,
        /success flag 2/,
      ],
      ["an offset beyond any answer", `0x${pad(toHex(2n ** 200n)).slice(2)}${good.slice(66)}` as Hex, /too large/],
    ];
    for (const [what, data, message] of refusals) {
      const expected = what === "another count of results" ? 2 : 1;
      assert.throws(
        () => decodeAggregate3(data, expected),
        (error: Error) => error instanceof MalformedMulticallError && message.test(error.message),
        what,
      );
    }
  });
});
