import {
  BaseError,
  decodeAbiParameters,
  HttpRequestError,
  numberToHex,
  ResponseBodyTooLargeError,
  RpcRequestError,
  TimeoutError,
  toEventSelector,
  type AbiEvent,
  type AbiParameter,
  type Address,
  type Hex,
  type PublicClient,
  type RpcLog,
} from "viem";
import { setTimeout as sleep } from "node:timers/promises";
import { unknownBlock } from "./pinned-read";

export interface LogScan {
  addresses: Address[];
  events: readonly AbiEvent[];
  fromBlock: bigint;
  toBlock: bigint;
  /** The largest range one request may ask for; absent: as large as the RPC accepts. */
  maxRange?: bigint;
  /** Requests in flight at once once the RPC's range limit is known (default 8). */
  concurrency?: number;
}

export const DEFAULT_SCAN_CONCURRENCY = 8;
/** Attempts per range when the RPC fails (not refuses): 100, 200, 400, 800 ms between them. */
const TRANSIENT_ATTEMPTS = 5;
/** Probing for a larger range stops once the known-good size is within 1/32 of the refused one. */
const PROBE_PRECISION = 32n;
/** After this many successes, a range shrunk for too many RESULTS (not blocks) may double again; each refused regrowth doubles the wait. */
const SUCCESSES_BEFORE_REGROWTH = 4;

/** How an RPC refused a range: too many blocks (a fixed cap) or too many results (depends on the range). */
export interface RangeRefusal {
  kind: "blocks" | "results";
  /** A range size the RPC says it accepts, when its message names one. */
  workableSize?: bigint;
}

const sizeWords =
  /(?:range|blocks?|limit(?:ed)?|max(?:imum)?|up to|over|exceeds?|than|to)\W{0,3}(?:of\W{0,2}|a\W{1,2})?(\d[\d,_]*)\s*(k\b)?/gi;

/**
 * Recognises the refusals real providers send for eth_getLogs ranges (codes -32005, -32602,
 * -32000, -32614 and messages about range, limit or result count), and the workable size their
 * message names: a suggested range `[0x.., 0x..]` or a block count such as "10,000" or "2K". An
 * answer larger than the client accepts counts as too many results. Rate limits are not
 * refusals: they are retried like any failure.
 */
export function rangeRefusalOf(error: unknown): RangeRefusal | undefined {
  // viem drops an answer over 10 MB (about 20,000 logs) unread: a smaller range fits.
  if (error instanceof BaseError && error.walk((e) => e instanceof ResponseBodyTooLargeError))
    return { kind: "results" };
  const rpc =
    error instanceof BaseError ? (error.walk((e) => e instanceof RpcRequestError) as RpcRequestError | null) : null;
  if (!rpc) return undefined;
  const text = `${rpc.details ?? ""} ${typeof rpc.data === "string" ? rpc.data : JSON.stringify(rpc.data ?? "")}`;
  const lower = text.toLowerCase();
  // A node behind the scan's last block is no cap: the same range works once it catches up (lagging-nodes.ts).
  if (/rate limit|too many requests|request rate|daily request|capacity|credits/.test(lower) || unknownBlock(error))
    return undefined;
  const refusalCodes = [-32005, -32602, -32000, -32614, -32600, -32001, -32011, -32012];
  if (!refusalCodes.includes(rpc.code) && !/range|results/.test(lower)) return undefined;
  if (!/range|limit|results|too (?:large|wide|big|many)|exceed|response size|block span|max/.test(lower))
    return undefined;
  const kind = /results|logs? (?:count|response)|response size|too many logs/.test(lower) ? "results" : "blocks";
  const suggested = /\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]/i.exec(text);
  if (suggested) return { kind, workableSize: BigInt(suggested[2]) - BigInt(suggested[1]) + 1n };
  if (kind === "blocks") {
    for (const match of text.matchAll(sizeWords)) {
      const size = BigInt(match[1].replace(/[,_]/g, "")) * (match[2] ? 1000n : 1n);
      // An exclusive or inclusive cap: one block less is accepted either way.
      if (size > 1n) return { kind, workableSize: size - 1n };
    }
  }
  return { kind };
}

function isTransient(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false;
  if (error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError)) return true;
  const rpc = error.walk((e) => e instanceof RpcRequestError) as RpcRequestError | null;
  return rpc !== null && (rpc.code === 429 || rpc.code === -32005 || rpc.code === -32603);
}

/**
 * A refusal of the range [from, to]: the RPC's own, or the client's timeout on a range of several
 * blocks. A node without a range cap can be too slow for a wide range (a self-hosted node asked for
 * tens of millions of blocks); asking it again the same range would time out again.
 */
function refusalOf(error: unknown, from: bigint, to: bigint): RangeRefusal | undefined {
  const refusal = rangeRefusalOf(error);
  if (refusal || to === from || !(error instanceof BaseError)) return refusal;
  return error.walk((e) => e instanceof TimeoutError) ? { kind: "results" } : undefined;
}

/**
 * What a scan learns about the RPC's range limit while it runs; shared by its workers. Sizes above
 * the known-good one are tried by one worker at a time (a probe), so a wrong guess costs one refused
 * request, not one per worker.
 */
export class RangeSizer {
  /** Largest size known to work, and smallest known refused (blocks-kind refusals are a fixed cap). */
  private good = 0n;
  private refused: bigint | undefined;
  /** The RPC named a size it accepts: it is taken at its word, without learning one request at a time. */
  private named = false;
  private probing = false;
  private size: bigint;
  private regrowIn = 0;
  private regrowWait = SUCCESSES_BEFORE_REGROWTH / 2;
  /** The size the last too-many-results refusal named. */
  private namedForResults: bigint | undefined;

  /** The largest size worth asking for: the whole scan, or less when the stack caps it. */
  private readonly max: bigint;

  constructor(whole: bigint, max: bigint | undefined) {
    this.max = max !== undefined && max < whole ? max : whole;
    this.size = this.max;
  }

  /** Until one range has worked (or the RPC named a size), one request at a time: a refusal then costs one request, not eight. */
  get learning(): boolean {
    return this.good === 0n && !this.named;
  }

  /** The size the next range asks for: the known-good size, or a probe above it. */
  next(): { size: bigint; probe: boolean } {
    const probe = this.probing || this.good === 0n ? undefined : this.probeSize();
    if (probe === undefined) return { size: this.size, probe: false };
    this.probing = true;
    return { size: probe, probe: true };
  }

  /** Between the largest accepted and the smallest refused size under a block cap; else double, after a streak. */
  private probeSize(): bigint | undefined {
    if (this.refused !== undefined)
      return this.refused - this.good > this.good / PROBE_PRECISION + 1n ? (this.good + this.refused) / 2n : undefined;
    if (this.regrowIn > 0) return undefined;
    const grown = this.size * 2n < this.max ? this.size * 2n : this.max;
    return grown > this.size ? grown : undefined;
  }

  accepted(size: bigint, probe: boolean): void {
    if (probe) this.probing = false;
    if (size > this.good) this.good = size;
    if (this.size < this.good) this.size = this.good;
    this.regrowIn--;
  }

  rejected(size: bigint, probe: boolean, refusal: RangeRefusal): void {
    if (probe) this.probing = false;
    const kind = this.capKind(refusal);
    if (kind === "results") {
      // Too many results depends on where the range lies: regrow later, each refused regrowth waiting twice as long.
      this.regrowWait *= 2;
      this.regrowIn = this.regrowWait;
    }
    if (refusal.workableSize !== undefined && refusal.workableSize < size) {
      this.named = true;
      this.size = refusal.workableSize > 0n ? refusal.workableSize : 1n;
      // A named size is the RPC's own word: no probing above it.
      if (kind === "blocks") this.refused = this.size + 1n;
      return;
    }
    if (kind === "blocks" && (this.refused === undefined || size < this.refused)) this.refused = size;
    if (this.good >= size) this.good = size / 2n;
    if (size <= this.size) this.size = size / 2n > 0n ? size / 2n : 1n;
  }

  /**
   * A too-many-results refusal that names the size the last one named, for another range, did not
   * depend on where the range lies: it is a block cap in results' words (a provider's wording
   * reused by a node with a fixed cap), and regrowing into it again would only be refused again.
   */
  private capKind(refusal: RangeRefusal): RangeRefusal["kind"] {
    if (refusal.kind === "blocks" || refusal.workableSize === undefined) return refusal.kind;
    const repeated = refusal.workableSize === this.namedForResults;
    this.namedForResults = refusal.workableSize;
    return repeated ? "blocks" : "results";
  }
}

/**
 * eth_getLogs over [fromBlock, toBlock], decoded. The first request asks for the whole range (or
 * maxRange); a range the RPC refuses is answered at once with a smaller one (the size its message
 * names, else half), never with a slow retry, and so is a range of several blocks that times out.
 * Once a range works, up to `concurrency` ranges are in flight, sizes grow back after successes
 * and a single probe looks for the largest accepted size between the largest accepted and the
 * smallest refused. A node behind the scan's last block (one the client was served) is waited for; other failures
 * (HTTP errors, 5xx) are retried with backoff.
 */
export async function scanLogs<Args = Record<string, unknown>>(
  client: PublicClient,
  scan: LogScan,
): Promise<DecodedLog<Args>[]> {
  if (scan.fromBlock > scan.toBlock) return [];
  const topics = [[...new Set(scan.events.map((event) => toEventSelector(event)))]];
  const whole = scan.toBlock - scan.fromBlock + 1n;
  const sizer = new RangeSizer(whole, scan.maxRange);
  const concurrency = Math.max(1, scan.concurrency ?? DEFAULT_SCAN_CONCURRENCY);
  /**
   * Ranges still to scan: refused ones go back to the front. The first asks for everything: under a
   * cap it is refused whatever its size, and without one it is the fewest requests (halves asked at
   * once made a 1M-block read slower, as a node such as anvil serves one eth_getLogs at a time).
   */
  const pending = [{ from: scan.fromBlock, to: scan.toBlock }];
  const decode = logDecoder(scan.events);
  /** Decoded as each range arrives, while the others are still in flight. */
  const found: DecodedLog[] = [];
  let active = 0;
  let failure: unknown;
  const waiting: (() => void)[] = [];
  const wakeAll = () => {
    for (const resolve of waiting.splice(0)) resolve();
  };

  const fetchRange = async (from: bigint, to: bigint): Promise<RpcLog[]> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const params = { address: scan.addresses, topics, fromBlock: numberToHex(from), toBlock: numberToHex(to) };
        // viem would retry a -32005 refusal five times with backoff: a refusal is an answer, so no retries here.
        // A node behind the last block, served to this client, is waited for by the client (lagging-nodes.ts).
        return (await client.request({ method: "eth_getLogs", params: [params] } as never, {
          retryCount: 0,
        })) as RpcLog[];
      } catch (error) {
        if (refusalOf(error, from, to) || attempt >= TRANSIENT_ATTEMPTS || !isTransient(error)) throw error;
        await sleep(100 * 2 ** (attempt - 1));
      }
    }
  };

  const work = async (): Promise<void> => {
    while (failure === undefined) {
      const limit = sizer.learning ? 1 : concurrency;
      if (pending.length === 0 || active >= limit) {
        if (active === 0 && pending.length === 0) return;
        await new Promise<void>((resolve) => waiting.push(resolve));
        continue;
      }
      const range = pending.shift()!;
      const { size, probe } = sizer.next();
      const to = range.from + size - 1n < range.to ? range.from + size - 1n : range.to;
      if (to < range.to) pending.unshift({ from: to + 1n, to: range.to });
      active++;
      try {
        for (const log of await fetchRange(range.from, to)) {
          const decoded = decode(log);
          if (decoded) found.push(decoded);
        }
        sizer.accepted(to - range.from + 1n, probe);
      } catch (error) {
        const refusal = refusalOf(error, range.from, to);
        if (!refusal || to === range.from) failure ??= error;
        else {
          sizer.rejected(to - range.from + 1n, probe, refusal);
          // Merge the refused range back with its continuation so it is cut afresh.
          const next = pending[0];
          if (next && next.from === to + 1n) pending[0] = { from: range.from, to: next.to };
          else pending.unshift({ from: range.from, to });
        }
      } finally {
        active--;
        wakeAll();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, work));
  if (failure !== undefined) throw failure;
  // The caller names the arguments its events carry.
  return found.sort((a, b) => Number(a.blockNumber - b.blockNumber) || a.logIndex - b.logIndex) as DecodedLog<Args>[];
}

/** Indexed arguments of these types are stored as their hash: the topic is all there is. */
const hashedWhenIndexed = /^(?:string|bytes|tuple)$|\]$/;

/** A scanned log: where it was emitted, and its event's name and arguments (by name when every input has one). */
export interface DecodedLog<Args = Record<string, unknown>> {
  address: Address;
  blockNumber: bigint;
  logIndex: number;
  transactionHash: Hex;
  eventName: string;
  args: Args;
}

/**
 * Arguments that are all bytes32 (every authorization event's) are their words as they stand:
 * slicing them spares a generic decode per log. Short data fails as viem's decoder would.
 */
function bytes32Words(data: Hex, count: number): Hex[] {
  if (data.length < 2 + count * 64) throw new Error("data shorter than its arguments");
  return Array.from({ length: count }, (_, i) => `0x${data.slice(2 + i * 64, 2 + (i + 1) * 64).toLowerCase()}` as Hex);
}

/**
 * Decodes a log by the event its first topic names; a log that does not decode as that event gives
 * undefined (as viem's strict parseEventLogs drops it). Events with one signature but different
 * indexed arguments (Safe 1.3.0's and 1.4.1's ExecutionSuccess) are told apart by their topic
 * count. Selectors are hashed once per decoder: viem's parseEventLogs hashes every event's
 * signature again for every log (1,000 logs: ~150 ms of CPU). Built from the RPC's log as is: no
 * formatted copy of each log is made first.
 */
export function logDecoder(events: readonly AbiEvent[]): (log: RpcLog) => DecodedLog | undefined {
  const shapes = events.map((event) => {
    const indexed = event.inputs.filter((input) => input.indexed);
    const data = event.inputs.filter((input) => !input.indexed);
    // Where each argument comes from, in the event's order: its topic (after the selector) or its word in the data.
    const sources = event.inputs.map((input): { topic: number; input: AbiParameter } | { data: number } =>
      input.indexed ? { topic: indexed.indexOf(input) + 1, input } : { data: data.indexOf(input) },
    );
    const allBytes32 = data.length > 0 && data.every((input) => input.type === "bytes32");
    const names = event.inputs.every((input) => input.name) ? event.inputs.map((input) => input.name!) : undefined;
    return { selector: toEventSelector(event), event, indexed, data, sources, allBytes32, names };
  });
  return (log) => {
    const shape = shapes.find((s) => s.selector === log.topics[0] && s.indexed.length + 1 === log.topics.length);
    if (!shape) return undefined;
    try {
      const data = shape.allBytes32
        ? bytes32Words(log.data, shape.data.length)
        : shape.data.length
          ? decodeAbiParameters(shape.data, log.data)
          : [];
      const values = shape.sources.map((source) => {
        if ("data" in source) return data[source.data];
        const topic = log.topics[source.topic]!;
        return hashedWhenIndexed.test(source.input.type) ? topic : decodeAbiParameters([source.input], topic)[0];
      });
      return {
        address: log.address,
        blockNumber: BigInt(log.blockNumber!),
        logIndex: Number(log.logIndex),
        transactionHash: log.transactionHash!,
        eventName: shape.event.name,
        args: shape.names ? Object.fromEntries(shape.names.map((name, i) => [name, values[i]])) : (values as never),
      };
    } catch {
      return undefined;
    }
  };
}
