import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A fault-injecting JSON-RPC proxy on 127.0.0.1 in front of anvil. A seeded PRNG decides each
 * request's fate, so a run is reproducible: the same seed gives the same sequence of outcomes.
 */

/** What the proxy did with one request. `slow` still answers correctly, just late. */
export type Outcome = "pass" | "slow" | "http500" | "http429" | "timeout" | "drop" | "malformed";
export const FAILURES = ["http500", "http429", "timeout", "drop", "malformed"] as const satisfies readonly Outcome[];

export interface JsonRpcCall {
  id?: unknown;
  method: string;
  params?: unknown[];
}

/** How a provider words its refusal of an eth_getLogs range above its cap (each as a real one does). */
export type RangeRefusalStyle = "infura" | "alchemy" | "geth" | "quicknode" | "bare";

function rangeRefusal(style: RangeRefusalStyle, cap: number, from: bigint): { code: number; message: string } {
  const hint = `[0x${from.toString(16)}, 0x${(from + BigInt(cap) - 1n).toString(16)}]`;
  switch (style) {
    case "infura":
      return { code: -32005, message: `query returned more than 10000 results. Try with this block range ${hint}.` };
    case "alchemy":
      return {
        code: -32602,
        message: `Log response size exceeded. You can make eth_getLogs requests with up to a ${cap / 1000}K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: ${hint}`,
      };
    case "geth":
      return { code: -32000, message: `exceed maximum block range: ${cap}` };
    case "quicknode":
      return { code: -32602, message: `eth_getLogs is limited to a ${cap.toLocaleString("en-US")} range` };
    case "bare":
      return { code: -32000, message: "block range is too wide" };
  }
}

/** What `intercept` makes of a call: forwarded (maybe rewritten), or answered here with a result or a JSON-RPC error. */
export type Intercepted = JsonRpcCall | { result: unknown } | { error: { code: number; message: string } };

export interface FaultyRpcOptions {
  /** Where requests that pass go. */
  upstream: string;
  seed: number;
  /** Share of requests that fail, spread evenly over `failures`. */
  failureRate: number;
  failures?: readonly Outcome[];
  /** Share of the remaining requests answered late (correctly) after `slowMs`. */
  slowRate?: number;
  slowMs?: number;
  /**
   * Rewrites a call before it is forwarded, or answers it directly with `{ result }` or `{ error }`:
   * how a lagging node is simulated. It may act first (e.g. revert the chain) before answering.
   */
  intercept?: (call: JsonRpcCall) => Intercepted | Promise<Intercepted>;
  /** Added to every request before it is answered: a remote RPC's round trip. */
  latencyMs?: number;
  /** Refuses eth_getLogs over more than `blocks` blocks, worded as `style` words it (default geth). */
  logRangeCap?: { blocks: number; style?: RangeRefusalStyle };
}

export interface FaultyRpc {
  url: string;
  counts: Record<Outcome, number>;
  /** Every request received (failed, refused or answered), by method. */
  received: Record<string, number>;
  /** eth_getLogs ranges refused for exceeding logRangeCap. */
  refusedRanges: number;
  /** Every call that reached the upstream (after `intercept`), in arrival order. */
  forwarded: JsonRpcCall[];
  setFailureRate(rate: number): void;
  close(): Promise<void>;
}

/** A held "timeout" request is released after this long even if the client never gives up. */
const MAX_HOLD_MS = 30_000;

/** mulberry32: a tiny, well-distributed 32-bit PRNG; deterministic for a given seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function emptyCounts(): Record<Outcome, number> {
  return { pass: 0, slow: 0, http500: 0, http429: 0, timeout: 0, drop: 0, malformed: 0 };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function post(url: URL, agent: Agent, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => readBody(res).then(resolve, reject),
    );
    req.on("error", reject);
    req.end(body);
  });
}

export async function startFaultyRpc(options: FaultyRpcOptions): Promise<FaultyRpc> {
  const random = seededRandom(options.seed);
  const failures = options.failures ?? FAILURES;
  let failureRate = options.failureRate;
  const counts = emptyCounts();
  const forwarded: JsonRpcCall[] = [];
  const received: Record<string, number> = {};
  let refusedRanges = 0;
  const sockets = new Set<Socket>();
  const upstream = new URL(options.upstream);
  // Kept-alive sockets to the upstream: a fresh connection (or fetch's machinery) per call costs the proxy more CPU than its work.
  const agent = new Agent({ keepAlive: true });
  const holds = new Set<NodeJS.Timeout>();

  const decide = (): Outcome => {
    const roll = random();
    if (roll < failureRate) return failures[Math.floor((roll / failureRate) * failures.length)];
    return random() < (options.slowRate ?? 0) ? "slow" : "pass";
  };

  /** `body` is `call` as received: forwarded as is unless `intercept` rewrites it (a 500 kB call is not re-encoded). */
  async function forward(body: string, call: JsonRpcCall): Promise<string> {
    const cap = options.logRangeCap;
    if (cap && call.method === "eth_getLogs") {
      const { fromBlock, toBlock } = (call.params?.[0] ?? {}) as { fromBlock?: string; toBlock?: string };
      if (
        fromBlock?.startsWith("0x") &&
        toBlock?.startsWith("0x") &&
        BigInt(toBlock) - BigInt(fromBlock) + 1n > BigInt(cap.blocks)
      ) {
        refusedRanges++;
        return JSON.stringify({
          jsonrpc: "2.0",
          id: call.id,
          error: rangeRefusal(cap.style ?? "geth", cap.blocks, BigInt(fromBlock)),
        });
      }
    }
    const rewritten = options.intercept ? await options.intercept(call) : call;
    if ("result" in rewritten) return JSON.stringify({ jsonrpc: "2.0", id: call.id, result: rewritten.result });
    if ("error" in rewritten) return JSON.stringify({ jsonrpc: "2.0", id: call.id, error: rewritten.error });
    forwarded.push(rewritten);
    return post(upstream, agent, rewritten === call ? body : JSON.stringify(rewritten));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const parsed = JSON.parse(body || "{}") as JsonRpcCall | JsonRpcCall[];
    for (const call of [parsed].flat()) received[call.method] = (received[call.method] ?? 0) + 1;
    if (options.latencyMs) await sleep(options.latencyMs);
    const outcome = decide();
    counts[outcome]++;
    switch (outcome) {
      case "http500":
        res.writeHead(500, { "content-type": "text/plain" }).end("Internal Server Error");
        return;
      case "http429":
        res.writeHead(429, { "content-type": "text/plain" }).end("Too Many Requests");
        return;
      case "drop":
        req.socket.destroy();
        return;
      case "malformed":
        res.writeHead(200, { "content-type": "application/json" }).end('{"jsonrpc":"2.0","id":1,"result":"0x');
        return;
      case "timeout": {
        // Never answers: the client's own timeout must give up on it.
        const hold = setTimeout(() => req.socket.destroy(), MAX_HOLD_MS);
        holds.add(hold);
        req.socket.once("close", () => (clearTimeout(hold), holds.delete(hold)));
        return;
      }
      case "slow":
        await sleep(options.slowMs ?? 100);
    }
    const answer = await forward(body, parsed as JsonRpcCall);
    res.writeHead(200, { "content-type": "application/json" }).end(answer);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => res.writeHead(502, { "content-type": "text/plain" }).end(error.message));
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    received,
    get refusedRanges() {
      return refusedRanges;
    },
    forwarded,
    setFailureRate: (rate) => (failureRate = rate),
    close: () =>
      new Promise((resolve) => {
        for (const hold of holds) clearTimeout(hold);
        agent.destroy();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A proxy in front of a node that is behind for a while (a load balancer's lagging backend): the
 * first `times` calls that `matches` accepts get `answer`; every other call is forwarded.
 */
export function startLaggingRpc(
  upstream: string,
  times: number,
  matches: (call: JsonRpcCall) => boolean,
  answer: Intercepted,
): Promise<FaultyRpc> {
  let left = times;
  return startFaultyRpc({
    upstream,
    seed: 1,
    failureRate: 0,
    intercept: (call) => (matches(call) && left-- > 0 ? answer : call),
  });
}

/** Every request the proxy received. */
export function receivedCount(rpc: FaultyRpc): number {
  return Object.values(rpc.received).reduce((sum, n) => sum + n, 0);
}

/** Requests that failed, for the figures. */
export function failedCount(counts: Record<Outcome, number>): number {
  return FAILURES.reduce((sum, outcome) => sum + counts[outcome], 0);
}
