import type { Hex, PublicClient } from "viem";

/** The block a read is pinned to, named by its hash (EIP-1898), so a reorg cannot swap its state under the read. */
export interface PinnedBlock {
  number: bigint;
  hash: Hex;
}

/** The RPC no longer knows the pinned block's hash: a reorg replaced it while the run was reading. */
export class PinnedBlockGoneError extends Error {
  constructor(block: PinnedBlock, cause: Error) {
    super(
      `block ${block.number} (${block.hash}) is no longer served by the RPC: a reorg replaced it while it was being read; run again`,
      { cause },
    );
    this.name = "PinnedBlockGoneError";
  }
}

/** A node's answer for a block hash it does not know: EIP-1898's resource-not-found, or geth's "header not found". */
function unknownBlock(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === -32001) return true;
    if (/header not found|unknown block|block not found/i.test(e.message)) return true;
  }
  return false;
}

/** A state read (eth_call, eth_getStorageAt) at the pinned block's hash. */
export async function readAt(
  client: PublicClient,
  block: PinnedBlock,
  method: "eth_call" | "eth_getStorageAt",
  params: readonly unknown[],
): Promise<Hex> {
  try {
    return (await client.request({ method, params: [...params, { blockHash: block.hash }] } as never)) as Hex;
  } catch (error) {
    if (unknownBlock(error)) throw new PinnedBlockGoneError(block, error as Error);
    throw error;
  }
}
