import { redactUrl, shortDetail } from "../errors";
import {
  BaseError,
  createPublicClient,
  fallback,
  http,
  HttpRequestError,
  TimeoutError,
  type Chain,
  type PublicClient,
  type Transport,
} from "viem";
import { waitingForLaggingNodes } from "./lagging-nodes";
import { wrapRequest } from "./transport-wrap";

/** Multicall3 sits at this address on Base, Base Sepolia and (put there by the devnet) anvil. */
export const MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11" as const;

export interface ChainClientOptions {
  chainId: number;
  rpcUrls: readonly string[];
  /** Called once per JSON-RPC request the engine makes (retries are not counted): the benchmark counts requests with it. */
  onRequest?: () => void;
  retryCount?: number;
  /** Per-request timeout; a request that takes longer is retried (on the next URL, with several). */
  timeoutMs?: number;
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

const DEFAULT_RETRY_COUNT = 4;
const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * A read client over one or several RPC URLs, retrying with exponential backoff (100 ms, 200 ms,
 * ...) on timeouts, dropped connections, HTTP 429/5xx and malformed answers. With several URLs
 * (viem fallback) a failed request moves to the next URL at once and the backoff applies to
 * whole rounds, so a dead URL costs one attempt per round, not a retry loop of its own. A URL
 * nothing can reach (refused, unresolvable) costs one attempt in all: waiting does not mend it.
 * A node behind a block this client was served is waited for (lagging-nodes.ts).
 */
export function createChainClient(options: ChainClientOptions): PublicClient {
  const retryCount = options.retryCount ?? DEFAULT_RETRY_COUNT;
  const several = options.rpcUrls.length > 1;
  const transports = options.rpcUrls.map((url) =>
    http(url, {
      fetchFn: fetchOrUnreachable,
      retryCount: several ? 0 : retryCount,
      retryDelay: 100,
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    }),
  );
  const base = several ? fallback(transports, { retryCount, retryDelay: 100 }) : transports[0];
  const transport = waitingForLaggingNodes(explainingUnavailability(base, options.rpcUrls, retryCount + 1));
  return createPublicClient({
    chain: chainDefinition(options.chainId, options.rpcUrls),
    transport: options.onRequest ? counting(transport, options.onRequest) : transport,
    pollingInterval: 50,
    cacheTime: 0,
  });
}

/**
 * A URL no request can reach: nothing listens there, its host name does not resolve, or fetch
 * refuses its port. Its numeric code (a JSON-RPC server-error code no node uses for a range
 * refusal) is what stops viem's retries and moves its fallback to the next URL.
 */
export class RpcUnreachableError extends HttpRequestError {
  readonly code = -32099;
  constructor(
    url: string,
    readonly reason: string,
    cause: Error,
  ) {
    super({ url, cause, details: reason });
  }
}

/** Why a failed fetch can never succeed at its URL, if that is why it failed. */
export function unreachableReason(error: unknown): string | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === "ECONNREFUSED") return "refused the connection (nothing listens there)";
    if (code === "ENOTFOUND") return "has a host name that does not resolve";
    // fetch never connects to the ports it blocks (9, 25, ...): https://fetch.spec.whatwg.org/#bad-port
    if (cause.message === "bad port") return "has a port fetch refuses to connect to";
  }
  return undefined;
}

const fetchOrUnreachable: typeof fetch = async (input, init) => {
  try {
    return await fetch(input, init);
  } catch (error) {
    const reason = unreachableReason(error);
    if (reason) throw new RpcUnreachableError(String(input), reason, error as Error);
    throw error;
  }
};

/** Every RPC URL failed a request (unreachable, timing out, erring or garbled) through all retries. */
export class RpcUnavailableError extends BaseError {
  constructor(method: string, urls: readonly string[], attempts: number, cause: BaseError) {
    const unreachable = cause.walk((e) => e instanceof RpcUnreachableError) as RpcUnreachableError | null;
    const failure = unreachable
      ? unreachable.reason
      : `failed ${attempts} attempts each (${cause.shortMessage.replace(/\.$/, "")}: ${shortDetail(cause.details)})`;
    super(`no RPC answered ${method}: ${urls.map(redactUrl).join(", ")} ${failure}; check network.rpcUrls`, {
      cause,
      name: "RpcUnavailableError",
    });
  }
}

function isTransportFailure(error: unknown): error is BaseError {
  return (
    error instanceof BaseError && error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null
  );
}

/** The last error of a request that every URL failed names the URLs, so the user knows what to fix. */
function explainingUnavailability(transport: Transport, urls: readonly string[], attempts: number): Transport {
  return wrapRequest(transport, async (request, args, opts) => {
    try {
      return await request(args, opts);
    } catch (error) {
      if (!isTransportFailure(error)) throw error;
      throw new RpcUnavailableError((args as { method: string }).method, urls, attempts, error);
    }
  });
}

function counting(transport: Transport, onRequest: () => void): Transport {
  return wrapRequest(transport, (request, args, opts) => {
    onRequest();
    return request(args, opts);
  });
}

/** The RPC must serve the chain the stack declares: a wrong URL must never produce a proposal. */
export async function assertChainId(client: PublicClient, expected: number): Promise<void> {
  const actual = await client.getChainId();
  if (actual !== expected) {
    throw new Error(
      `network.chainId: the RPC serves chain ${actual} but the stack declares ${expected}; point network.rpcUrls at a chain-${expected} RPC`,
    );
  }
}
