import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  encodeAbiParameters,
  formatLog,
  encodeEventTopics,
  getAbiItem,
  pad,
  parseEventLogs,
  type AbiEvent,
  type Hex,
  type RpcLog,
} from "viem";
import { dstackAppAbi, dstackKmsAbi, safe130EventsAbi, safeAbi, timelockAbi } from "../../src/chain/abis";
import { logDecoder, type DecodedLog } from "../../src/chain/logs";

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
  ];
  const decode = logDecoder(events);
  const decodeAll = (rpcLogs: RpcLog[]) => rpcLogs.flatMap((log) => decode(log) ?? []);
  /** What viem's strict parseEventLogs finds, in the fields a decoded log keeps. */
  const viemDecoded = (rpcLogs: RpcLog[]): DecodedLog[] =>
    parseEventLogs({ abi: events, logs: rpcLogs.map((log) => formatLog(log)), strict: true }).map((log) => ({
      address: log.address,
      blockNumber: log.blockNumber,
      logIndex: log.logIndex,
      transactionHash: log.transactionHash,
      eventName: log.eventName,
      args: log.args as Record<string, unknown>,
    }));

  it("names, arguments and position equal viem's strict parseEventLogs, for indexed, static and dynamic arguments", () => {
    assert.equal(decodeAll(logs).length, 4);
    assert.deepEqual(decodeAll(logs), viemDecoded(logs));
  });

  it("drops a log that does not decode as the event its topic names, as viem's strict parse does", () => {
    const truncated = { ...logs[0], data: "0x1234" as Hex };
    const tooFewTopics = { ...logs[2], topics: logs[2].topics.slice(0, 2) } as RpcLog;
    const unknown = { ...logs[1], topics: [pad("0x05")] } as unknown as RpcLog;
    const odd = [truncated, tooFewTopics, unknown];
    assert.deepEqual(decodeAll(odd), []);
    assert.deepEqual(viemDecoded(odd), []);
  });
});

describe("decoding one event signature in two shapes", () => {
  const safeEvent = (abi: readonly unknown[]) => event(abi, "ExecutionSuccess");
  const shapes = [safeEvent(safeAbi), safeEvent(safe130EventsAbi)];

  it("decodes Safe 1.4.1's ExecutionSuccess (hash indexed) and 1.3.0's (hash in the data) by their topic count", () => {
    const txHash = pad("0x77");
    const decode = logDecoder(shapes);
    for (const abiEvent of shapes) {
      const decoded = decode(rpcLog(abiEvent, { txHash, payment: 5n }));
      assert.equal(decoded?.eventName, "ExecutionSuccess");
      assert.deepEqual(decoded?.args, { txHash, payment: 5n });
    }
  });
});
