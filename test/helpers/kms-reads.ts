import type { Address, Hex, PublicClient } from "viem";
import { dstackKmsAbi } from "../../src/chain/abis";

/** Whether the KMS authorizes an OS image, as its own getter says at the head. */
export function osImageAllowed(client: PublicClient, kms: Address, image: Hex): Promise<boolean> {
  return client.readContract({ address: kms, abi: dstackKmsAbi, functionName: "allowedOsImages", args: [image] });
}
