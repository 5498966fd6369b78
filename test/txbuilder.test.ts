import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { encodeFunctionData, getAddress, keccak256, parseAbiItem, stringToHex, type AbiFunction, type Hex } from "viem";
import {
  buildTxBuilderBatch,
  isChecksumValid,
  serializeForChecksum,
  TX_BUILDER_VERSION,
  txBuilderChecksum,
  txBuilderTransactionFromCall,
  withChecksum,
  type TxBuilderBatch,
  type TxBuilderContractInput,
  type TxBuilderContractMethod,
} from "../src/proposal/txbuilder";

// Compiled to dist/test/, the fixtures stay in test/fixtures/.
const FIXTURES = join(__dirname, "..", "..", "test", "fixtures", "txbuilder");
const readFixture = (name: string): string => readFileSync(join(FIXTURES, name), "utf8");

// A real Transaction Builder 1.18.2 export, quoted in safe-global's 5afe/safe-cli-nodejs
// (TRANSACTION_BUILDER_FORMAT_ANALYSIS.md @ fede5ca7e378ff37bf06bc4aefb05504fa03439c).
const officialBatch = (): TxBuilderBatch => JSON.parse(readFixture("official-batch.json")) as TxBuilderBatch;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonPath = (string | number)[];

function leafPaths(value: Json, path: JsonPath = []): JsonPath[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => leafPaths(item, [...path, index]));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => leafPaths(item, [...path, key]));
  }
  return [path];
}

function changedLeaf(leaf: Json): Json {
  if (typeof leaf === "string") return `${leaf}0`;
  if (typeof leaf === "number") return leaf + 1;
  if (typeof leaf === "boolean") return !leaf;
  return "0x";
}

function withLeafChanged<T>(value: T, path: JsonPath): T {
  const copy = structuredClone(value) as Record<string | number, Json>;
  const parent = path
    .slice(0, -1)
    .reduce<Record<string | number, Json>>((node, key) => node[key] as Record<string | number, Json>, copy);
  const key = path[path.length - 1];
  parent[key] = changedLeaf(parent[key]);
  return copy as T;
}

function withKeysReversed(value: Json): Json {
  if (Array.isArray(value)) return value.map(withKeysReversed);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([key, item]) => [key, withKeysReversed(item)]),
    );
  }
  return value;
}

describe("checksum against the official Transaction Builder", () => {
  test("a real export's embedded checksum is reproduced", () => {
    const batch = officialBatch();
    assert.equal(batch.meta.checksum, "0x8b5032f716845c8b08bab3d63dbd9ba92e056f3557793cd041e59b84e16aa989");
    assert.equal(txBuilderChecksum(batch), batch.meta.checksum);
    assert.equal(isChecksumValid(batch), true);
  });

  test("the safe-react-apps unit-test vector is reproduced by the same serialization", () => {
    // That test calls addChecksum on an object that already has `checksum: ""`, so unlike
    // validateChecksum the key is hashed; calculateChecksum then nulls meta.name.
    const vector = JSON.parse(readFixture("safe-react-apps-checksum-test-vector.json")) as {
      expectedChecksum: Hex;
      addChecksumInput: { meta: Record<string, Json> } & Record<string, Json>;
    };
    const calculateChecksum = (batch: typeof vector.addChecksumInput): Hex =>
      keccak256(stringToHex(serializeForChecksum({ ...batch, meta: { ...batch.meta, name: null } })));

    assert.equal(calculateChecksum(vector.addChecksumInput), vector.expectedChecksum);
    const reordered = withKeysReversed(vector.addChecksumInput) as typeof vector.addChecksumInput;
    assert.equal(calculateChecksum(reordered), vector.expectedChecksum);
  });

  test("serialization follows checksum.ts: sorted key list, trailing commas, undefined as null", () => {
    assert.equal(
      serializeForChecksum({ b: [1, "x"], a: { d: undefined, c: null } }),
      '{["a","b"]{["c","d"]null,null,},[1,"x"],}',
    );
    assert.equal(serializeForChecksum([]), "[]");
    assert.equal(serializeForChecksum(undefined), "null");
  });

  test("changing any field other than meta.name invalidates the checksum", () => {
    const batch = officialBatch();
    const tamperable = leafPaths(batch as unknown as Json).filter(
      (path) => !(path[0] === "meta" && (path[1] === "name" || path[1] === "checksum")),
    );
    assert.ok(tamperable.length >= 15, `expected many fields, got ${tamperable.length}`);
    for (const path of tamperable) {
      assert.equal(
        isChecksumValid(withLeafChanged(batch, path)),
        false,
        `changing ${path.join(".")} kept the checksum valid`,
      );
    }
  });

  test("adding or removing a field invalidates the checksum", () => {
    const added = officialBatch();
    (added.transactions[0] as unknown as Record<string, Json>).operation = 1;
    assert.equal(isChecksumValid(added), false);

    const removed = officialBatch() as unknown as { transactions: Record<string, Json>[] };
    delete removed.transactions[0].data;
    assert.equal(isChecksumValid(removed as unknown as TxBuilderBatch), false);
  });

  test("renaming the batch or reordering keys keeps it valid; a wrong checksum does not", () => {
    const renamed = officialBatch();
    renamed.meta.name = "Renamed in the library";
    assert.equal(isChecksumValid(renamed), true);
    assert.equal(
      isChecksumValid(withKeysReversed(officialBatch() as unknown as Json) as unknown as TxBuilderBatch),
      true,
    );

    const wrong = officialBatch();
    wrong.meta.checksum = `0x${"0".repeat(64)}`;
    assert.equal(isChecksumValid(wrong), false);
    delete wrong.meta.checksum;
    assert.equal(isChecksumValid(wrong), false);
  });
});

// --- how the Safe app reads contractInputsValues back (apps/tx-builder/src/utils.ts) ---------

// Its ABI coder (ethers v5 via web3-eth-abi) takes JSON-parsed tuple members as they are:
// integers from decimal strings, and bools by truthiness, so "false" would encode as true.
function asEthersV5Would(input: TxBuilderContractInput, value: unknown): unknown {
  const array = /^(.*)\[\d*\]$/.exec(input.type);
  if (array) return (value as unknown[]).map((item) => asEthersV5Would({ ...input, type: array[1] }, item));
  if (input.type === "tuple")
    return (input.components ?? []).map((c, i) => asEthersV5Would(c, (value as unknown[])[i]));
  if (input.type === "bool") return Boolean(value);
  if (/^u?int\d*$/.test(input.type)) return BigInt(value as string);
  if (input.type === "address") return getAddress(value as string);
  return value;
}

function parseBooleanLikeSafeApp(text: string): boolean {
  if (["true", "1"].includes(text.toLowerCase())) return true;
  if (["false", "0"].includes(text.toLowerCase())) return false;
  throw new Error(`invalid boolean ${text}`);
}

// parseInputValue: tuples and string arrays are JSON.parsed; other arrays are split and each
// unquoted item parsed as the base type (JSON.parse + String gives the same items for our output).
function parseLikeSafeApp(input: TxBuilderContractInput, text: string): unknown {
  const trimmed = text.trim();
  if (input.type === "address") return getAddress(trimmed);
  if (input.type === "bool") return parseBooleanLikeSafeApp(trimmed);
  if (/^u?int\d*$/.test(input.type)) return BigInt(trimmed);
  if (input.type.startsWith("tuple")) return asEthersV5Would(input, JSON.parse(trimmed));
  if (/^string(\[\d*\])+$/.test(input.type)) return JSON.parse(trimmed);
  const array = /^(.*)\[\d*\]$/.exec(input.type);
  if (array) {
    const element = { ...input, type: array[1] };
    return (JSON.parse(trimmed) as unknown[]).map((item) =>
      Array.isArray(item) ? parseLikeSafeApp(element, JSON.stringify(item)) : parseLikeSafeApp(element, String(item)),
    );
  }
  return text;
}

function encodeLikeSafeApp(method: TxBuilderContractMethod, values: Record<string, string>): Hex {
  const args = method.inputs.map((input, index) => parseLikeSafeApp(input, values[input.name || String(index)] ?? ""));
  const abiItem = {
    type: "function",
    name: method.name,
    stateMutability: method.payable ? "payable" : "nonpayable",
    inputs: method.inputs,
    outputs: [],
  } as AbiFunction;
  return encodeFunctionData({ abi: [abiItem], functionName: method.name, args });
}

// ---------------------------------------------------------------------------------------------

const SAFE = "0x5b38da6a701c568545dcfcb03fcb875f56beddc4";
const KMS = "0xd9db270c1b5e3bd161e8c8503c55ceabee709552";
const OWNER_A = "0xab8483f64d9c6d1ecf9b849ae677dd3315835cb2";
const OWNER_B = "0x4b20993bc481177ec7e8f571cecae8a9e22c02db";

const setKmsInfo = parseAbiItem(
  "function setKmsInfo((bytes k256Pubkey, bytes caPubkey, bytes quote, bytes eventlog) info)",
);
const upgradeToAndCall = parseAbiItem("function upgradeToAndCall(address newImplementation, bytes data) payable");
const everyKind = parseAbiItem(
  "function everyKind(address who, bool flag, uint256 amount, int64 delta, bytes32 id, string label, address[] list, bool[] flags, string[] names, (bool on, uint8 level, address[] owners)[] rules, uint256)",
);

const everyKindArgs = [
  OWNER_A,
  false,
  10n ** 30n,
  -5n,
  `0x${"ab".repeat(32)}`,
  'he said "hi", ok',
  [OWNER_A, OWNER_B],
  [true, false],
  ["a,b", 'c"d]'],
  [{ on: false, level: 3, owners: [OWNER_B] }],
  7n,
] as const;

describe("txBuilderTransactionFromCall", () => {
  test("without an ABI the calldata is kept raw", () => {
    const tx = txBuilderTransactionFromCall({ to: KMS, value: 0n, data: "0x1234" });
    assert.deepEqual(tx, {
      to: getAddress(KMS),
      value: "0",
      data: "0x1234",
      contractMethod: null,
      contractInputsValues: null,
    });
  });

  test("with an ABI it is decoded like the app's form: data null, values as the app's text", () => {
    const data = encodeFunctionData({ abi: [everyKind], args: everyKindArgs });
    const tx = txBuilderTransactionFromCall({ to: KMS, value: 0n, data, abiItem: everyKind });

    assert.equal(tx.data, null);
    assert.equal(tx.contractMethod?.name, "everyKind");
    assert.equal(tx.contractMethod?.payable, false);
    assert.deepEqual(tx.contractInputsValues, {
      who: getAddress(OWNER_A),
      flag: "false",
      amount: "1000000000000000000000000000000",
      delta: "-5",
      id: `0x${"ab".repeat(32)}`,
      label: 'he said "hi", ok',
      list: JSON.stringify([getAddress(OWNER_A), getAddress(OWNER_B)]),
      flags: "[true,false]",
      names: JSON.stringify(["a,b", 'c"d]']),
      rules: JSON.stringify([[false, "3", [getAddress(OWNER_B)]]]),
      "10": "7",
    });
  });

  test("the app rebuilds exactly the original calldata from what we write", () => {
    const calls = [
      { abiItem: everyKind, args: everyKindArgs },
      {
        abiItem: setKmsInfo,
        args: [{ k256Pubkey: "0x02aa", caPubkey: "0x", quote: `0x${"11".repeat(100)}`, eventlog: "0xff" }],
      },
      { abiItem: upgradeToAndCall, args: [OWNER_B, "0x8129fc1c"] },
    ] as const;
    for (const { abiItem, args } of calls) {
      const data = encodeFunctionData({ abi: [abiItem as AbiFunction], args: args as readonly unknown[] });
      const tx = txBuilderTransactionFromCall({ to: KMS, value: 0n, data, abiItem });
      assert.ok(tx.contractMethod && tx.contractInputsValues);
      assert.equal(encodeLikeSafeApp(tx.contractMethod, tx.contractInputsValues), data, abiItem.name);
    }
  });

  test("tuple members and payability are described for the app", () => {
    const data = encodeFunctionData({ abi: [upgradeToAndCall], args: [OWNER_B, "0x"] });
    assert.equal(
      txBuilderTransactionFromCall({ to: KMS, value: 1n, data, abiItem: upgradeToAndCall }).contractMethod?.payable,
      true,
    );

    const kms = txBuilderTransactionFromCall({
      to: KMS,
      value: 0n,
      data: encodeFunctionData({
        abi: [setKmsInfo],
        args: [{ k256Pubkey: "0x01", caPubkey: "0x02", quote: "0x03", eventlog: "0x04" }],
      }),
      abiItem: setKmsInfo,
    });
    assert.deepEqual(
      kms.contractMethod?.inputs[0].components?.map((c) => `${c.type} ${c.name}`),
      ["bytes k256Pubkey", "bytes caPubkey", "bytes quote", "bytes eventlog"],
    );
    assert.equal(kms.contractInputsValues?.info, '["0x01","0x02","0x03","0x04"]');
  });

  test("args that do not encode to the calldata are rejected", () => {
    const data = encodeFunctionData({ abi: [upgradeToAndCall], args: [OWNER_B, "0x"] });
    assert.throws(
      () =>
        txBuilderTransactionFromCall({ to: KMS, value: 0n, data, abiItem: upgradeToAndCall, args: [OWNER_A, "0x"] }),
      /does not encode to the given calldata/,
    );
  });
});

function sampleBatch(): TxBuilderBatch {
  return buildTxBuilderBatch({
    chainId: 8453,
    safeAddress: SAFE,
    createdAt: 1767225600000,
    name: "dstack KMS governance",
    description: "Rotate KMS info and upgrade the implementation",
    transactions: [
      txBuilderTransactionFromCall({
        to: KMS,
        value: 0n,
        data: encodeFunctionData({
          abi: [setKmsInfo],
          args: [{ k256Pubkey: "0x02aa", caPubkey: "0xbb", quote: "0xcc", eventlog: "0xdd" }],
        }),
        abiItem: setKmsInfo,
      }),
      txBuilderTransactionFromCall({
        to: KMS,
        value: 0n,
        data: encodeFunctionData({ abi: [upgradeToAndCall], args: [OWNER_B, "0x"] }),
        abiItem: upgradeToAndCall,
      }),
      txBuilderTransactionFromCall({ to: OWNER_A, value: 10n ** 18n, data: "0x" }),
    ],
  });
}

describe("buildTxBuilderBatch", () => {
  test("is laid out like an app export", () => {
    const batch = sampleBatch();
    const official = officialBatch();
    assert.deepEqual(Object.keys(batch), Object.keys(official));
    assert.deepEqual(Object.keys(batch.meta), Object.keys(official.meta));
    for (const tx of batch.transactions) assert.deepEqual(Object.keys(tx), Object.keys(official.transactions[0]));
    assert.equal(batch.chainId, "8453");
    assert.equal(batch.meta.txBuilderVersion, TX_BUILDER_VERSION);
    assert.equal(batch.meta.createdFromSafeAddress, getAddress(SAFE));
    assert.equal(batch.meta.createdFromOwnerAddress, "");
  });

  test("survives JSON.stringify/parse and still validates", () => {
    const batch = sampleBatch();
    const reread = JSON.parse(JSON.stringify(batch, null, 2)) as TxBuilderBatch;
    assert.deepEqual(reread, batch);
    assert.equal(isChecksumValid(reread), true);
    assert.equal(txBuilderChecksum(reread), batch.meta.checksum);
  });

  test("is deterministic: same input, byte-identical JSON, matching the committed golden file", () => {
    const json = `${JSON.stringify(sampleBatch(), null, 2)}\n`;
    assert.equal(json, `${JSON.stringify(sampleBatch(), null, 2)}\n`);
    assert.equal(json, readFixture("built-batch.golden.json"));
  });

  test("withChecksum is idempotent and reordering transactions invalidates", () => {
    const batch = sampleBatch();
    assert.deepEqual(withChecksum(batch), batch);
    const reordered = { ...batch, transactions: [...batch.transactions].reverse() };
    assert.equal(isChecksumValid(reordered), false);
    assert.equal(isChecksumValid(withChecksum(reordered)), true);
  });
});
