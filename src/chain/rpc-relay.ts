import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { BaseError, RpcRequestError, type PublicClient } from "viem";

interface JsonRpcCall {
  id: unknown;
  method: string;
  params?: unknown[];
}

export interface RpcRelay {
  url: string;
  stop(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of request) body += chunk;
  return body;
}

async function answer(client: PublicClient, call: JsonRpcCall) {
  try {
    const result = await client.request({ method: call.method, params: call.params } as never);
    return { jsonrpc: "2.0", id: call.id, result };
  } catch (error) {
    // A node's own JSON-RPC error (a revert, say) passes through as it is; anything else is ours.
    const rpc =
      error instanceof BaseError ? (error.walk((e) => e instanceof RpcRequestError) as RpcRequestError | null) : null;
    return {
      jsonrpc: "2.0",
      id: call.id,
      error: rpc
        ? { code: rpc.code, message: rpc.details, data: rpc.data }
        : { code: -32603, message: (error as Error).message.split("\n")[0] },
    };
  }
}

/**
 * A JSON-RPC endpoint on 127.0.0.1 that answers through our client: retries with backoff and
 * fallback over every configured URL. anvil forks through it, so a flaky RPC cannot break a fork
 * the way it would break anvil's own, less forgiving, fetches.
 */
export async function startRpcRelay(client: PublicClient): Promise<RpcRelay> {
  const server = createServer(async (request, response) => {
    let payload: JsonRpcCall | JsonRpcCall[];
    try {
      payload = JSON.parse(await readBody(request));
    } catch {
      response.writeHead(400).end();
      return;
    }
    const body = Array.isArray(payload)
      ? await Promise.all(payload.map((call) => answer(client, call)))
      : await answer(client, payload);
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
