import { createTestClient, http, parseEther, parseGwei, publicActions, type Address, type Hex } from "viem";

export interface OwnerCall {
  to: Address;
  data: Hex;
}

/** An owner-only add/remove costs ~50k gas; a fixed limit skips one eth_estimateGas per call. */
const GAS_PER_CALL = 100_000n;
/** JSON-RPC requests per HTTP batch while flooding the mempool. */
const REQUESTS_PER_BATCH = 500;
/** Far above any base fee the filled blocks can push anvil to, so no call ever waits in the pool. */
const MAX_FEE_PER_GAS = parseGwei("1000");

/**
 * Sends calls as the governance owner (the timelock) through anvil's eth_sendUnsignedTransaction,
 * which needs no key: real transactions that emit real events. Setup is not what the bench
 * measures, so instead of one block per call it queues them all with automine off, then mines
 * full blocks until every call is included. A reverted call still uses its nonce, so this ends;
 * the bench's empty-plan check is what catches it.
 */
export async function sendAsOwner(rpcUrl: string, owner: Address, calls: readonly OwnerCall[]): Promise<void> {
  if (calls.length === 0) return;
  const anvil = createTestClient({
    mode: "anvil",
    transport: http(rpcUrl, { batch: { batchSize: REQUESTS_PER_BATCH } }),
  }).extend(publicActions);
  await anvil.setBalance({ address: owner, value: parseEther("1000000") });
  await anvil.setAutomine(false);
  try {
    const firstNonce = await anvil.getTransactionCount({ address: owner, blockTag: "pending" });
    await Promise.all(
      calls.map((call, i) =>
        anvil.sendUnsignedTransaction({
          from: owner,
          to: call.to,
          data: call.data,
          gas: GAS_PER_CALL,
          maxFeePerGas: MAX_FEE_PER_GAS,
          maxPriorityFeePerGas: 0n,
          nonce: firstNonce + i,
        }),
      ),
    );
    while ((await anvil.getTransactionCount({ address: owner, blockTag: "latest" })) < firstNonce + calls.length) {
      await anvil.mine({ blocks: 1 });
    }
  } finally {
    await anvil.setAutomine(true);
  }
}
