import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  concatHex,
  encodeAbiParameters,
  getAddress,
  keccak256,
  parseAbi,
  stringToHex,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { devAccounts } from "../../devnet/accounts";
import { devMeasurement } from "../../devnet/deploy";
import { safeAbi } from "../../src/chain/abis";
import { repoRoot } from "../../src/repo-root";
import type { StackConfigInput } from "../../src/config/schema";
import { proposalStatus } from "../../src/proposal/status";
import type { ProposalFile } from "../../src/proposal/types";
import { executorKey, owners, startTestDevnet, type TestDevnet } from "../helpers/devnet";
import { filesUnder, propose, runGov, stackRoot } from "./harness";

const CAST = join(repoRoot(), "node_modules", "@foundry-rs", "cast-linux-amd64", "bin", "cast");

/** The real foundry cast: signs the EIP-712 JSON as `cast wallet sign --ledger --data` would, with a key instead. */
function castSign(typedDataFile: string, privateKey: Hex): Hex {
  return execFileSync(CAST, ["wallet", "sign", "--data", "--from-file", typedDataFile, "--private-key", privateKey], {
    encoding: "utf8",
  }).trim() as Hex;
}

/** A `- field: \`value\`` line of the packet. */
function packetField(packet: string, field: string): string {
  const line = packet.split("\n").find((l) => l.startsWith(`- ${field}: \``));
  assert.ok(line, `the packet has no "${field}" line`);
  return line.slice(field.length + 5, line.indexOf("`", field.length + 5));
}

// EIP-712 for Safe 1.4.1 written out from the standard, independently of the code under test.
const DOMAIN_TYPEHASH = keccak256(stringToHex("EIP712Domain(uint256 chainId,address verifyingContract)"));
const SAFE_TX_TYPEHASH = keccak256(
  stringToHex(
    "SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)",
  ),
);

describe("signer packet and external signatures (cast) on a safe+timelock devnet", () => {
  let devnet: TestDevnet;
  let config: StackConfigInput;
  let root: string;
  let client: PublicClient;
  let proposal: ProposalFile;
  let typedDataFile: string;
  const newSigner = devAccounts.spareOwners[0].address;
  const image = devMeasurement("signer-trust-os");

  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    config = devnet.config();
    root = stackRoot(config);
    client = devnet.client;
    config.kms.osImages = [...config.kms.osImages, image];
    if (config.governance.mode !== "safe+timelock") throw new Error("topology");
    config.governance.safe.owners.push({ address: newSigner, org: "operator-c" });
    proposal = await propose(root, config);
  });
  after(() => devnet.stop());

  const gov = (args: string[], env: Record<string, string> = {}) =>
    runGov([...args, "--stack", "devnet", "--root", root], env);
  const packet = () => readFileSync(join(root, "proposals", "devnet", `${proposal.id}.md`), "utf8");

  it("the packet's three hashes, recomputed from its own text only, equal the Safe's domainSeparator and getTransactionHash", async () => {
    const text = packet();
    const f = (name: string) => packetField(text, name);
    const safe = getAddress(f("verifyingContract (Safe)"));
    const data = f("data") as Hex;
    assert.equal(f("keccak256(data)"), keccak256(data));
    const domainHash = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "uint256" }, { type: "address" }],
        [DOMAIN_TYPEHASH, BigInt(f("chainId")), safe],
      ),
    );
    const messageHash = keccak256(
      encodeAbiParameters(
        [
          "bytes32",
          "address",
          "uint256",
          "bytes32",
          "uint8",
          "uint256",
          "uint256",
          "uint256",
          "address",
          "address",
          "uint256",
        ].map((type) => ({ type })),
        [
          SAFE_TX_TYPEHASH,
          f("to") as Address,
          BigInt(f("value")),
          keccak256(data),
          Number(f("operation")),
          BigInt(f("safeTxGas")),
          BigInt(f("baseGas")),
          BigInt(f("gasPrice")),
          f("gasToken"),
          f("refundReceiver"),
          BigInt(f("nonce")),
        ],
      ),
    );
    const safeTxHash = keccak256(concatHex(["0x1901", domainHash, messageHash]));
    // As a Ledger shows them: upper-case hex digits.
    assert.equal(f("Domain hash"), `0x${domainHash.slice(2).toUpperCase()}`);
    assert.equal(f("Message hash"), `0x${messageHash.slice(2).toUpperCase()}`);
    assert.equal(f("Safe tx hash"), `0x${safeTxHash.slice(2).toUpperCase()}`);
    // The Safe 1.4.1 contract's own hashing, read from the chain.
    const hashing = parseAbi([
      "function domainSeparator() view returns (bytes32)",
      "function getTransactionHash(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, uint256 _nonce) view returns (bytes32)",
    ]);
    assert.equal(
      await client.readContract({ address: safe, abi: hashing, functionName: "domainSeparator" }),
      domainHash,
    );
    const onChain = await client.readContract({
      address: safe,
      abi: hashing,
      functionName: "getTransactionHash",
      args: [
        f("to") as Address,
        BigInt(f("value")),
        data,
        Number(f("operation")),
        BigInt(f("safeTxGas")),
        BigInt(f("baseGas")),
        BigInt(f("gasPrice")),
        f("gasToken") as Address,
        f("refundReceiver") as Address,
        BigInt(f("nonce")),
      ],
    });
    assert.equal(onChain, safeTxHash);
    assert.equal(safeTxHash, proposal.safeTxHash);
  });

  it("the packet lists calls in execution order, warns about the signer change, names organisations and the state after", () => {
    const text = packet();
    const at = (s: string) => {
      const i = text.indexOf(s);
      assert.ok(i >= 0, `packet lacks ${s}\n${text}`);
      return i;
    };
    assert.ok(at("> **WARNING**") < at("## What your hardware wallet shows"));
    assert.match(
      text,
      new RegExp(`\\*\\*Safe signer/threshold change\\*\\*: Safe: add signer ${newSigner}.*IMMEDIATELY`),
    );
    // cancels → scheduleBatch → Safe self-calls, then the batch after the delay.
    assert.ok(at("1. `scheduleBatch(") < at(`2. Safe: add signer ${newSigner}`));
    assert.ok(at("### After the delay") < at(`KMS: authorize OS image ${image}`));
    assert.ok(text.includes(`before → after: ${image}: not authorized → authorized`));
    assert.match(text, new RegExp(`- \`${owners[0].address}\` \\(phala\\)`));
    const state = text.slice(at("## Expected state after execution"));
    assert.match(state, /threshold \*\*2 of 4\*\*/);
    assert.ok(state.includes(`  - ${newSigner} (operator-c)`));
    assert.ok(state.includes(`\`${image}\``));
    assert.ok(at("## Convergence proof") > 0);
  });

  it("gov show --typed-data prints the EIP-712 JSON that cast signs; gov sign --signature adds it and it counts towards execution", async () => {
    const run = await gov(["show", proposal.id, "--typed-data"]);
    assert.equal(run.code, 0, run.stderr);
    typedDataFile = join(root, "typed-data.json");
    writeFileSync(typedDataFile, run.stdout);
    const first = castSign(typedDataFile, owners[0].privateKey);
    const added = await gov(["sign", proposal.id, "--signature", first]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, new RegExp(`added ${owners[0].address}'s signature to proposal ${proposal.id}: 1 of 2`));
    // The second one from a file, as `cast wallet sign ... > sig.txt` leaves it.
    const sigFile = join(root, "sig.txt");
    writeFileSync(sigFile, `${castSign(typedDataFile, owners[2].privateKey)}\n`);
    assert.equal((await gov(["sign", proposal.id, "--signature", sigFile])).code, 0);
    const status = await proposalStatus(
      client,
      JSON.parse(readFileSync(join(root, "proposals", "devnet", `${proposal.id}.json`), "utf8")) as ProposalFile,
    );
    assert.deepEqual(status, {
      state: "awaiting-signatures",
      have: 2,
      need: 2,
      signers: [owners[0].address, owners[2].address].sort(),
    });
    const executed = await gov(["execute", proposal.id], { GOV_PRIVATE_KEY: executorKey });
    assert.equal(executed.code, 0, executed.stderr);
    // Executed with the two cast signatures: the new signer is an owner, the batch is queued.
    const ownersNow = (await client.readContract({
      address: proposal.safe.address,
      abi: safeAbi,
      functionName: "getOwners",
    })) as Address[];
    assert.ok(ownersNow.includes(newSigner));
    assert.equal((await proposalStatus(client, proposal)).state, "scheduled");
  });

  it("a signature by a non-owner or over another hash is refused, and nothing is written", async () => {
    // A fresh proposal at the next nonce, so the refusals are tested on an open one.
    config.kms.osImages = [...config.kms.osImages, devMeasurement("signer-trust-os-2")];
    proposal = await propose(root, config);
    const typed = (await gov(["show", proposal.id, "--typed-data"])).stdout;
    writeFileSync(typedDataFile, typed);
    const before = filesUnder(join(root, "proposals"));
    const outsider = await gov([
      "sign",
      proposal.id,
      "--signature",
      castSign(typedDataFile, devAccounts.outsider.privateKey),
    ]);
    assert.equal(outsider.code, 1);
    assert.match(
      outsider.stderr,
      new RegExp(`recovers to ${devAccounts.outsider.address}, which is not a current owner of Safe`),
    );
    const other = JSON.parse(typed) as { message: { nonce: string } };
    other.message.nonce = String(BigInt(other.message.nonce) + 1n);
    writeFileSync(typedDataFile, JSON.stringify(other));
    const wrongHash = await gov(["sign", proposal.id, "--signature", castSign(typedDataFile, owners[1].privateKey)]);
    assert.equal(wrongHash.code, 1);
    assert.match(
      wrongHash.stderr,
      /not a current owner of Safe .*over another hash than 0x[0-9a-f]{64}; nothing written/,
    );
    const garbage = await gov(["sign", proposal.id, "--signature", "0x1234"]);
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /--signature: expected 65 bytes/);
    assert.deepEqual(filesUnder(join(root, "proposals")), before);
  });
});
