import { concatHex, encodeFunctionData, encodePacked, getAddress, size, zeroHash, type Hex } from "viem";
import { multiSendCallOnlyAbi, timelockAbi } from "../chain/abis";
import { canonicalSafeContractsByVersion, SAFE_VERSION } from "../chain/safe-deployments";
import { hashOperationBatch } from "./operation";
import { safeTxHashes } from "./safe-tx";
import type { ProposalFile } from "./types";

/** MultiSendCallOnly's packed encoding: per call operation(0) ‖ to ‖ value ‖ length ‖ data. */
export function encodeMultiSendCalls(calls: readonly { to: Hex; value: bigint; data: Hex }[]): Hex {
  const packed = concatHex(
    calls.map((c) =>
      encodePacked(
        ["uint8", "address", "uint256", "uint256", "bytes"],
        [0, c.to, c.value, BigInt(size(c.data)), c.data],
      ),
    ),
  );
  return encodeFunctionData({ abi: multiSendCallOnlyAbi, functionName: "multiSend", args: [packed] });
}

/**
 * Rebuilds the Safe transaction from the proposal's decoded calls and checks that it is exactly
 * the one whose hash signers sign. A file edited after it was written fails here.
 */
export function verifyProposal(p: ProposalFile): void {
  const fail = (why: string) => {
    throw new Error(`proposal ${p.id} does not match its calls: ${why}; refusing it (regenerate it with pulumi up)`);
  };
  const safe = getAddress(p.safe.address);
  const timelock = p.timelock;
  const byTimelock = p.calls.filter((c) => timelock && getAddress(c.sender) === getAddress(timelock.address));
  const bySafe = p.calls.filter((c) => getAddress(c.sender) === safe);
  if (byTimelock.length + bySafe.length !== p.calls.length) fail("a call is sent by neither the Safe nor the timelock");
  const inner: { to: Hex; value: bigint; data: Hex }[] = [];
  if (timelock) {
    if (byTimelock.length !== timelock.targets.length) fail("the timelock batch has a different number of calls");
    byTimelock.forEach((c, i) => {
      if (
        getAddress(c.to) !== getAddress(timelock.targets[i]) ||
        c.data !== timelock.payloads[i] ||
        timelock.values[i] !== "0"
      )
        fail(`timelock call ${i} differs from "${c.description}"`);
    });
    const expectedId = timelock.targets.length
      ? hashOperationBatch(
          timelock.targets,
          timelock.values.map(BigInt),
          timelock.payloads,
          timelock.predecessor,
          timelock.salt,
        )
      : zeroHash;
    if (timelock.operationId !== expectedId) fail("the timelock operation id is not the hash of its batch");
    for (const id of timelock.cancels)
      inner.push({
        to: timelock.address,
        value: 0n,
        data: encodeFunctionData({ abi: timelockAbi, functionName: "cancel", args: [id] }),
      });
    if (timelock.targets.length) {
      inner.push({
        to: timelock.address,
        value: 0n,
        data: encodeFunctionData({
          abi: timelockAbi,
          functionName: "scheduleBatch",
          args: [
            timelock.targets,
            timelock.values.map(BigInt),
            timelock.payloads,
            timelock.predecessor,
            timelock.salt,
            BigInt(timelock.delay),
          ],
        }),
      });
    }
  }
  inner.push(...bySafe.map((c) => ({ to: c.to as Hex, value: 0n, data: c.data })));
  if (inner.length === 0) fail("it has no calls");
  const expected =
    inner.length === 1
      ? { to: getAddress(inner[0].to), data: inner[0].data, operation: 0 }
      : {
          to: canonicalSafeContractsByVersion[p.safe.version ?? SAFE_VERSION].multiSendCallOnly,
          data: encodeMultiSendCalls(inner),
          operation: 1,
        };
  if (
    getAddress(p.safeTx.to) !== expected.to ||
    p.safeTx.data !== expected.data ||
    p.safeTx.operation !== expected.operation ||
    p.safeTx.value !== "0"
  )
    fail("the Safe transaction is not the batch of its calls");
  if (p.safeTx.nonce !== p.safe.nonce) fail("the Safe transaction nonce differs");
  const hashes = safeTxHashes(p.chainId, safe, p.safeTx);
  if (
    hashes.safeTxHash !== p.safeTxHash ||
    hashes.domainHash !== p.eip712.domainHash ||
    hashes.messageHash !== p.eip712.messageHash
  )
    fail("the Safe tx hash is not the hash of its transaction");
}
