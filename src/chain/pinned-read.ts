import { BlockNotFoundError, type Hex, type PublicClient } from "viem";
import { setTimeout as sleep } from "node:timers/promises";

/** The block a read is pinned to, named by its hash (EIP-1898), so a reorg cannot swap its state under the read. */
export interface PinnedBlock {
  number: bigint;
  hash: Hex;
}

/** The RPC does not know the pinned block's hash, even after waiting: a reorg replaced it while the run was reading. */
export class PinnedBlockGoneError extends Error {
  constructor(block: PinnedBlock, cause: Error) {
    super(
      `block ${block.number} (${block.hash}) is no longer served by the RPC: a reorg replaced it while it was being read (or the RPC's nodes are still behind it); run again`,
      { cause },
    );
    this.name = "PinnedBlockGoneError";
  }
}

/**
 * A node's answer for a block it does not know (yet): EIP-1898's resource-not-found, geth's "header
 * not found", viem's BlockNotFoundError for a block number answered with null, or an eth_getLogs
 * range past the node's head (-32602 "block range extends beyond current head block", as geth,
 * op-geth and reth answer).
 */
export function unknownBlock(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof BlockNotFoundError || (e as { code?: unknown }).code === -32001) return true;
    if (
      /header not found|unknown block|block not found|beyond.{0,24}(?:head|latest)|(?:head|latest).{0,24}beyond/i.test(
        e.message,
      )
    )
      return true;
  }
  return false;
}

/**
 * A load balancer can send a read to a node a block behind the one that gave the head: that node
 * knows the block a moment later. Waits before an unknown block counts as gone (or, for a log
 * range, before the node's answer stands).
 */
const UNKNOWN_BLOCK_WAITS_MS = [250, 500, 1_000];

/**
 * `read` of one block, asked again after each wait while the node answering does not know that
 * block: it fails with unknownBlock's answer, or `unknown` says its answer is one (a null block).
 * After the last wait that answer stands.
 */
export async function whenKnown<T>(read: () => Promise<T>, unknown: (answer: T) => boolean = () => false): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const last = attempt === UNKNOWN_BLOCK_WAITS_MS.length;
    try {
      const answer = await read();
      if (last || !unknown(answer)) return answer;
    } catch (error) {
      if (last || !unknownBlock(error)) throw error;
    }
    await sleep(UNKNOWN_BLOCK_WAITS_MS[attempt]);
  }
}

/** A state read (eth_call, eth_getStorageAt) at the pinned block's hash, which the client was served. */
export async function readAt(
  client: PublicClient,
  block: PinnedBlock,
  method: "eth_call" | "eth_getStorageAt",
  params: readonly unknown[],
): Promise<Hex> {
  try {
    // The client waits for a node behind the block (lagging-nodes.ts): one still unknown is gone.
    return (await client.request({ method, params: [...params, { blockHash: block.hash }] } as never)) as Hex;
  } catch (error) {
    if (unknownBlock(error)) throw new PinnedBlockGoneError(block, error as Error);
    throw error;
  }
}
