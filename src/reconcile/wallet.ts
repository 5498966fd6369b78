import { createWalletClient, http, type Hex, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Stack } from "./stack";

/** A wallet on the stack's chain and first RPC URL, signing locally with the key (never sent anywhere). */
export function stackWallet(stack: Stack, privateKey: Hex): WalletClient {
  return createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain: stack.client.chain,
    transport: http(stack.config.network.rpcUrls[0]),
  });
}
