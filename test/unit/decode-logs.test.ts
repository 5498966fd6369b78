import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  encodeAbiParameters,
  encodeEventTopics,
  formatLog,
  getAbiItem,
  pad,
  parseEventLogs,
  type AbiEvent,
  type Hex,
  type Log,
  type RpcLog,
} from "viem";
import { dstackAppAbi, dstackKmsAbi, timelockAbi } from "../../src/chain/abis";
import { decodeLogs } from "../../src/chain/logs";

const event = (abi: readonly unknown[], name: string) =>
  getAbiItem({ abi: abi as never, name: name as never }) as AbiEvent;
const osImageAdded = event(dstackKmsAbi, "OsImageHashAdded");
const composeAdded = event(dstackAppAbi, "ComposeHashAdded");
const roleGranted = event(timelockAbi, "RoleGranted");
const callScheduled = event(timelockAbi, "CallScheduled");
const events = [osImageAdded, composeAdded, roleGranted, callScheduled];

let index = 0;
function rpcLog(abiEvent: AbiEvent, args: Record<string, unknown>): RpcLog {
  const topics = encodeEventTopics({ abi: [abiEvent], eventName: abiEvent.name, args } as never) as Hex[];
  const data = abiEvent.inputs.filter((input) => !input.indexed);
  const n = index++;
  return {
    address: "0xcA11bde05977b3631167028862bE2a173976CA11",
    topics: topics as [Hex, ...Hex[]],
    data: data.length
      ? encodeAbiParameters(
          data,
          data.map((input) => args[input.name!]),
        )
      : "0x",
    blockNumber: `0x${(1_000_000 + n).toString(16)}`,
    blockHash: pad("0x01"),
    transactionHash: pad("0x02"),
    transactionIndex: "0x0",
    logIndex: `0x${n.toString(16)}`,
    removed: false,
  };
}

describe("decoding scanned logs", () => {
  const logs = [
    rpcLog(osImageAdded, { osImageHash: pad("0xaa") }),
    rpcLog(composeAdded, { composeHash: pad("0xbb") }),
    rpcLog(roleGranted, {
      role: pad("0x01"),
      account: "0x00000000000000000000000000000000000000aa",
      sender: "0x00000000000000000000000000000000000000bb",
    }),
    rpcLog(callScheduled, {
      id: pad("0x99"),
      index: 3n,
      target: "0x00000000000000000000000000000000000000cc",
      value: 7n,
      data: "0xdeadbeef",
      predecessor: pad("0x00"),
      delay: 86_400n,
    }),
  ].map((log) => formatLog(log)) as Log[];

  it("names and arguments equal viem's strict parseEventLogs, for indexed, static and dynamic arguments", () => {
    assert.deepEqual(decodeLogs(events, logs), parseEventLogs({ abi: events, logs, strict: true }));
  });

  it("drops a log that does not decode as the event its topic names, as viem's strict parse does", () => {
    const truncated = { ...logs[0], data: "0x1234" as Hex };
    const tooFewTopics = { ...logs[2], topics: logs[2].topics.slice(0, 2) } as Log;
    const unknown = { ...logs[1], topics: [pad("0x05")] } as unknown as Log;
    const odd = [truncated, tooFewTopics, unknown];
    assert.deepEqual(decodeLogs(events, odd), []);
    assert.deepEqual(parseEventLogs({ abi: events, logs: odd, strict: true }), []);
  });
});
