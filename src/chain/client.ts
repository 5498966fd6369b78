import { createPublicClient, fallback, http, type Chain, type PublicClient, type Transport } from "viem";

/** Multicall3 sits at this address on Base, Base Sepolia and (put there by the devnet) anvil. */
export const MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11" as const;

export interface ChainClientOptions {
  chainId: number;
  rpcUrls: readonly string[];
  /** Called once per JSON-RPC request (retries included): the benchmark counts requests with it. */
  onRequest?: () => void;
  retryCount?: number;
}

export function chainDefinition(chainId: number, rpcUrls: readonly string[]): Chain {
  return {
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [...rpcUrls] } },
    contracts: { multicall3: { address: MULTICALL3_ADDRESS } },
  };
}

/** A read client over one or several RPC URLs (viem fallback), retrying with backoff. */
export function createChainClient(options: ChainClientOptions): PublicClient {
  const transports = options.rpcUrls.map((url) =>
    http(url, {
      retryCount: options.retryCount ?? 4,
      retryDelay: 100,
      timeout: 15_000,
    }),
  );
  const transport = transports.length === 1 ? transports[0] : fallback(transports, { retryCount: options.retryCount ?? 4 });
  return createPublicClient({
    chain: chainDefinition(options.chainId, options.rpcUrls),
    transport: options.onRequest ? counting(transport, options.onRequest) : transport,
    pollingInterval: 50,
    cacheTime: 0,
  });
}

function counting(transport: Transport, onRequest: () => void): Transport {
  return (params) => {
    const inner = transport(params);
    return {
      ...inner,
      request: ((args: unknown, opts: unknown) => {
        onRequest();
        return (inner.request as (a: unknown, o: unknown) => Promise<unknown>)(args, opts);
      }) as typeof inner.request,
    };
  };
}

/** The RPC must serve the chain the stack declares: a wrong URL must never produce a proposal. */
export async function assertChainId(client: PublicClient, expected: number): Promise<void> {
  const actual = await client.getChainId();
  if (actual !== expected) {
    throw new Error(`network.chainId: the RPC serves chain ${actual} but the stack declares ${expected}; point network.rpcUrls at a chain-${expected} RPC`);
  }
}
