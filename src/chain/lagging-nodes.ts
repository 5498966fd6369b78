import type { Transport } from "viem";
import { whenKnown } from "./pinned-read";
import { wrapRequest } from "./transport-wrap";

/** Where each method names its block: the index of a parameter holding a number, a tag or EIP-1898's object. */
const BLOCK_PARAMETER: Record<string, number> = {
  eth_getBlockByNumber: 0,
  eth_getBlockByHash: 0,
  eth_call: 1,
  eth_createAccessList: 1,
  eth_estimateGas: 1,
  eth_getCode: 1,
  eth_getBalance: 1,
  eth_getTransactionCount: 1,
  eth_getStorageAt: 2,
  eth_getProof: 2,
};

const BLOCK_ANSWERS = new Set(["eth_getBlockByNumber", "eth_getBlockByHash"]);

/** A block number or hash as one key (numbers without leading zeros); undefined for a tag such as "latest". */
function blockKey(value: unknown): string | undefined {
  if (typeof value === "object" && value !== null) {
    const named = value as { blockHash?: unknown; blockNumber?: unknown };
    return blockKey(named.blockHash ?? named.blockNumber);
  }
  if (typeof value !== "string" || !/^0x[0-9a-f]+$/i.test(value)) return undefined;
  return value.length === 66 ? value.toLowerCase() : `0x${BigInt(value).toString(16)}`;
}

/** The one block a request reads at, when it names one: a log range by its last block. */
export function namedBlock(method: string, params: readonly unknown[]): string | undefined {
  if (method === "eth_getLogs") {
    const filter = params[0] as { blockHash?: unknown; toBlock?: unknown } | undefined;
    return blockKey(filter?.blockHash ?? filter?.toBlock);
  }
  const index = BLOCK_PARAMETER[method];
  return index === undefined ? undefined : blockKey(params[index]);
}

/** The blocks an answer shows the chain has: a block's number and hash, or the head's number. */
function servedBy(method: string, answer: unknown): string[] {
  if (method === "eth_blockNumber") return [blockKey(answer)].filter((key) => key !== undefined);
  if (!BLOCK_ANSWERS.has(method) || typeof answer !== "object" || answer === null) return [];
  const block = answer as { number?: unknown; hash?: unknown };
  return [blockKey(block.number), blockKey(block.hash)].filter((key) => key !== undefined);
}

/**
 * A load balancer sends each request to any of its nodes, and one a block behind says it does not
 * know a block another node just served ("header not found", a null block, a log range "beyond
 * current head block"). A block this client was served exists: such an answer about it is asked
 * again after whenKnown's waits, whatever reads it (the state read, the reorg check, proposal
 * statuses, policy checks, the fork of the convergence proof). A block never served (a deployment
 * search's probe, an old checkpoint's block) is answered at once. One per client.
 */
export function waitingForLaggingNodes(transport: Transport): Transport {
  const served = new Set<string>();
  return wrapRequest(transport, async (request, args, opts) => {
    const { method, params = [] } = args as { method: string; params?: readonly unknown[] };
    const block = namedBlock(method, params);
    const answer =
      block !== undefined && served.has(block)
        ? await whenKnown(
            () => request(args, opts),
            (answered) => BLOCK_ANSWERS.has(method) && answered === null,
          )
        : await request(args, opts);
    for (const key of servedBy(method, answer)) served.add(key);
    return answer;
  });
}
