import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { BaseError, RpcRequestError, toHex, type Address, type Hex, type PublicClient } from "viem";
import { ForkState, hasCode, slotWord, type AccountProof, type JsonRpcCall } from "./fork-state";

export interface RpcRelay {
  url: string;
  /**
   * Loads these accounts and storage slots at the pinned block ahead of the fork, one
   * eth_getProof (plus eth_getCode for a contract) per account, so the fork finds them here
   * instead of asking one slot at a time. Without a pinned block, or on an RPC that refuses
   * eth_getProof, it does nothing and the fork loads lazily as before.
   */
  prefetch(accounts: ReadonlyMap<Address, readonly Hex[]>): Promise<void>;
  stop(): Promise<void>;
}

export interface RelayOptions {
  /** The block a fork reads its state at: reads pinned to it are kept and answered again. */
  pinnedBlock?: bigint;
}

/** Slots per eth_getProof: well under what providers accept in one request. */
const PROOF_SLOTS = 256;

async function readBody(request: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of request) body += chunk;
  return body;
}

function rpcErrorOf(error: unknown): RpcRequestError | null {
  return error instanceof BaseError
    ? (error.walk((e) => e instanceof RpcRequestError) as RpcRequestError | null)
    : null;
}

/**
 * A JSON-RPC endpoint on 127.0.0.1 that answers through our client: retries with backoff and
 * fallback over every configured URL. anvil forks through it, so a flaky RPC cannot break a fork
 * the way it would break anvil's own, less forgiving, fetches. With a pinned block it also keeps
 * the state it has read at that block and loads a whole account per request (see prefetch).
 */
export async function startRpcRelay(client: PublicClient, options: RelayOptions = {}): Promise<RpcRelay> {
  const state = options.pinnedBlock === undefined ? undefined : new ForkState(options.pinnedBlock);
  /** Cleared once the RPC answers eth_getProof with an error: from then on the fork loads lazily. */
  let proofs = state !== undefined;
  const loading = new Map<string, Promise<void>>();

  const request = <T>(method: string, params: unknown[]) => client.request({ method, params } as never) as Promise<T>;

  async function loadAccount(address: Address, slots: readonly Hex[]): Promise<void> {
    const block = toHex(state!.blockNumber);
    const words = [...new Set(slots.map(slotWord))];
    const chunks = Array.from({ length: Math.max(1, Math.ceil(words.length / PROOF_SLOTS)) }, (_, i) =>
      words.slice(i * PROOF_SLOTS, (i + 1) * PROOF_SLOTS),
    );
    const answers = await Promise.all(
      chunks.map((keys) => request<AccountProof>("eth_getProof", [address, keys, block])),
    );
    const code = hasCode(answers[0]) ? await request<Hex>("eth_getCode", [address, block]) : "0x";
    for (const proof of answers) state!.addProof({ ...proof, address }, code);
  }

  /** Loads an account once however many reads of it arrive together (anvil asks balance, nonce and code at once). */
  function account(address: Address, slots: readonly Hex[]): Promise<void> {
    const key = address.toLowerCase();
    let pending = loading.get(key);
    if (!pending) {
      pending = loadAccount(address, slots).catch((error) => {
        loading.delete(key);
        // The RPC's own refusal (no eth_getProof here): stop trying. A transport failure only fails this call.
        if (rpcErrorOf(error)) proofs = false;
        throw error;
      });
      loading.set(key, pending);
    }
    return pending;
  }

  async function forward(call: JsonRpcCall) {
    try {
      const result = await request(call.method, call.params ?? []);
      return { jsonrpc: "2.0", id: call.id, result };
    } catch (error) {
      // A node's own JSON-RPC error (a revert, say) passes through as it is; anything else is ours.
      const rpc = rpcErrorOf(error);
      return {
        jsonrpc: "2.0",
        id: call.id,
        error: rpc
          ? { code: rpc.code, message: rpc.details, data: rpc.data }
          : { code: -32603, message: (error as Error).message.split("\n")[0] },
      };
    }
  }

  async function answer(call: JsonRpcCall) {
    const read = state?.pinnedRead(call);
    if (!read) return forward(call);
    if (proofs && !state!.hasAccount(read.address)) {
      await account(read.address, read.slot ? [read.slot] : []).catch(() => undefined);
    }
    const held = state!.answer(call);
    if (held) return { jsonrpc: "2.0", id: call.id, ...held };
    const answered = await forward(call);
    if (read.slot && "result" in answered) state!.addStorage(read.address, read.slot, answered.result as Hex);
    return answered;
  }

  const server = createServer(async (request, response) => {
    let payload: JsonRpcCall | JsonRpcCall[];
    try {
      payload = JSON.parse(await readBody(request));
    } catch {
      response.writeHead(400).end();
      return;
    }
    const body = Array.isArray(payload) ? await Promise.all(payload.map(answer)) : await answer(payload);
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    prefetch: async (accounts) => {
      if (!proofs) return;
      await Promise.all([...accounts].map(([address, slots]) => account(address, slots).catch(() => undefined)));
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
