import { encodePacked, getAddress, pad, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { safeAbi } from "../chain/abis";
import { describeRevert, revertDataOf } from "../chain/revert";
import type { PlannedCall } from "../plan/types";
import { executeBatchData } from "./operation";
import { encodeApproveHash, encodeExecTransaction, safeTxHashes } from "./safe-tx";
import { addExternalSignature } from "./signature";
import { assertCurrentOwner } from "./signatures";
import { describeStatus, onChainApprovals, proposalStatus, validFileSignatures } from "./status";
import type { FileSignature, ProposalFile } from "./types";
import { verifyProposal } from "./verify";

async function sendAndConfirm(
  client: PublicClient,
  wallet: WalletClient,
  request: { to: Address; data: Hex; what: string },
): Promise<Hex> {
  let hash: Hex;
  try {
    await client.call({ account: wallet.account!, to: request.to, data: request.data });
    hash = await wallet.sendTransaction({
      account: wallet.account!,
      chain: wallet.chain,
      to: request.to,
      data: request.data,
    });
  } catch (error) {
    throw new Error(
      `${request.what} would revert: ${describeRevert(revertDataOf(error), (error as Error).message.split("\n")[0])}`,
    );
  }
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${request.what} reverted in transaction ${hash}`);
  return hash;
}

/**
 * Adds the key owner's signature over the Safe tx hash, rebuilt from the calls (the file's hash is
 * not trusted), once the key is a current on-chain owner of the Safe.
 */
export async function signProposal(client: PublicClient, p: ProposalFile, privateKey: Hex): Promise<ProposalFile> {
  verifyProposal(p);
  const account = privateKeyToAccount(privateKey);
  const owners = await assertCurrentOwner(client, p.safe.address, account.address);
  const { safeTxHash } = safeTxHashes(p.chainId, p.safe.address, p.safeTx);
  return (await addExternalSignature(p, await account.sign({ hash: safeTxHash }), owners)).proposal;
}

/** On-chain approveHash by an owner: an alternative to a file signature. */
export async function approveProposal(client: PublicClient, wallet: WalletClient, p: ProposalFile): Promise<Hex> {
  verifyProposal(p);
  return sendAndConfirm(client, wallet, {
    to: p.safe.address,
    data: encodeApproveHash(p.safeTxHash),
    what: "approveHash",
  });
}

/** Safe signature bytes: owners ascending; an on-chain approval is the pre-validated form (r = owner, v = 1). */
export function packSignatures(
  fileSignatures: readonly FileSignature[],
  approvers: readonly Address[],
  threshold: number,
): Hex {
  const bySigner = new Map<string, Hex>();
  for (const approver of approvers)
    bySigner.set(getAddress(approver), encodePacked(["bytes32", "bytes32", "uint8"], [pad(approver), pad("0x0"), 1]));
  for (const s of fileSignatures) if (!bySigner.has(getAddress(s.signer))) bySigner.set(getAddress(s.signer), s.data);
  const chosen = [...bySigner.entries()].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1)).slice(0, threshold);
  return `0x${chosen.map(([, sig]) => sig.slice(2)).join("")}` as Hex;
}

/** Executes the Safe transaction once k owners signed or approved it (anyone may send it). */
export async function executeSafeTransaction(
  client: PublicClient,
  wallet: WalletClient,
  p: ProposalFile,
): Promise<Hex> {
  verifyProposal(p);
  const status = await proposalStatus(client, p);
  if (status.state !== "awaiting-signatures")
    throw new Error(`proposal ${p.id} is ${describeStatus(status)}: nothing to execute on the Safe`);
  if (status.have < status.need)
    throw new Error(
      `proposal ${p.id} has ${status.have} of ${status.need} signatures; collect more with gov sign or gov approve`,
    );
  const owners = await client.readContract({ address: p.safe.address, abi: safeAbi, functionName: "getOwners" });
  const signatures = packSignatures(
    await validFileSignatures(p, owners),
    await onChainApprovals(client, p, owners),
    status.need,
  );
  const data = encodeExecTransaction(p.safeTx, signatures);
  return sendAndConfirm(client, wallet, { to: p.safe.address, data, what: `Safe transaction ${p.safeTxHash}` });
}

/** Executes the scheduled timelock batch once it is ready; an expired operation is refused. */
export async function executeTimelockBatch(client: PublicClient, wallet: WalletClient, p: ProposalFile): Promise<Hex> {
  verifyProposal(p);
  if (!p.timelock || p.timelock.targets.length === 0) throw new Error(`proposal ${p.id} has no timelock batch`);
  const status = await proposalStatus(client, p);
  if (status.state !== "ready")
    throw new Error(`proposal ${p.id} is ${describeStatus(status)}: the timelock batch can only run when ready`);
  const t = p.timelock;
  return sendAndConfirm(client, wallet, {
    to: t.address,
    data: executeBatchData(t),
    what: `timelock operation ${t.operationId}`,
  });
}

/** direct mode: the admin EOA sends each call itself, in plan order. */
export async function sendDirect(
  client: PublicClient,
  wallet: WalletClient,
  calls: readonly PlannedCall[],
): Promise<Hex[]> {
  const hashes: Hex[] = [];
  for (const call of calls) {
    if (getAddress(call.sender) !== wallet.account!.address)
      throw new Error(
        `${call.description}: must be sent by ${call.sender}, but the configured key is ${wallet.account!.address}`,
      );
    hashes.push(await sendAndConfirm(client, wallet, { to: call.to, data: call.data, what: call.description }));
  }
  return hashes;
}
