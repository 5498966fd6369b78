import type { AbiEvent, Address, Log, PublicClient } from "viem";

export interface LogScan {
  addresses: Address[];
  events: readonly AbiEvent[];
  fromBlock: bigint;
  toBlock: bigint;
  chunkSize: bigint;
}

/** RPC refusals that mean "ask for a smaller range" rather than "the chain is broken". */
function isRangeRefusal(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error).toLowerCase();
  return /range|too many|limit|exceed|10000|block range|response size/.test(text);
}

/**
 * eth_getLogs over [fromBlock, toBlock] in chunks; a chunk the RPC refuses as too large is
 * halved and retried, so one request covers as much as the RPC allows.
 */
export async function scanLogs(client: PublicClient, scan: LogScan): Promise<Log[]> {
  const logs: Log[] = [];
  let chunk = scan.chunkSize > 0n ? scan.chunkSize : 1n;
  let from = scan.fromBlock;
  while (from <= scan.toBlock) {
    const to = from + chunk - 1n < scan.toBlock ? from + chunk - 1n : scan.toBlock;
    try {
      logs.push(...(await client.getLogs({ address: scan.addresses, events: scan.events, fromBlock: from, toBlock: to, strict: true })));
      from = to + 1n;
    } catch (error) {
      if (chunk === 1n || !isRangeRefusal(error)) throw error;
      chunk = chunk / 2n;
    }
  }
  return logs;
}
