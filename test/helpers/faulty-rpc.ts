import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
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
   * Rewrites a call before it is forwarded, or answers it directly with `{ result }`: how a
   * lagging node is simulated. It may act first (e.g. revert the chain) before answering.
   */
  intercept?: (call: JsonRpcCall) => JsonRpcCall | { result: unknown } | Promise<JsonRpcCall | { result: unknown }>;
}

export interface FaultyRpc {
  url: string;
  counts: Record<Outcome, number>;
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

export async function startFaultyRpc(options: FaultyRpcOptions): Promise<FaultyRpc> {
  const random = seededRandom(options.seed);
  const failures = options.failures ?? FAILURES;
  let failureRate = options.failureRate;
  const counts = emptyCounts();
  const forwarded: JsonRpcCall[] = [];
  const sockets = new Set<Socket>();
  const holds = new Set<NodeJS.Timeout>();

  const decide = (): Outcome => {
    const roll = random();
    if (roll < failureRate) return failures[Math.floor((roll / failureRate) * failures.length)];
    return random() < (options.slowRate ?? 0) ? "slow" : "pass";
  };

  async function forward(body: string): Promise<string> {
    const call = JSON.parse(body) as JsonRpcCall;
    const rewritten = options.intercept ? await options.intercept(call) : call;
    if ("result" in rewritten) return JSON.stringify({ jsonrpc: "2.0", id: call.id, result: rewritten.result });
    forwarded.push(rewritten);
    const response = await fetch(options.upstream, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(rewritten) });
    return response.text();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
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
    const answer = await forward(body);
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
    forwarded,
    setFailureRate: (rate) => (failureRate = rate),
    close: () =>
      new Promise((resolve) => {
        for (const hold of holds) clearTimeout(hold);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Requests that failed, for the figures. */
export function failedCount(counts: Record<Outcome, number>): number {
  return FAILURES.reduce((sum, outcome) => sum + counts[outcome], 0);
}
