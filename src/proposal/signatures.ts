import { getAddress, type Address, type PublicClient } from "viem";
import { safeAbi } from "../chain/abis";

/**
 * Only a current on-chain owner of the Safe may sign: the file's own owner list is never trusted.
 * Returns the owners read, for the check of a signature made elsewhere (addExternalSignature).
 */
export async function assertCurrentOwner(
  client: PublicClient,
  safe: Address,
  signer: Address,
  blockNumber?: bigint,
): Promise<Address[]> {
  const owners = (
    await client.readContract({ address: safe, abi: safeAbi, functionName: "getOwners", blockNumber })
  ).map((o) => getAddress(o));
  if (!owners.includes(getAddress(signer)))
    throw new Error(
      `${getAddress(signer)} is not an owner of Safe ${getAddress(safe)} on chain: only its owners can sign`,
    );
  return owners;
}
