import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { FaultyRpcOptions } from "../test/helpers/faulty-rpc";

/**
 * A faulty RPC in a worker thread: its parsing and forwarding run beside the client under test,
 * as a remote node's work does, instead of on the client's own event loop. For benchmarks, where
 * that CPU would otherwise be charged to the reader.
 */
export interface RemoteRpc {
  url: string;
  /** Requests received so far (failed, refused or answered). */
  receivedCount(): Promise<number>;
  close(): Promise<void>;
}

type Reply = { url: string } | { count: number } | { closed: true } | { error: string };

export async function startRemoteRpc(options: Omit<FaultyRpcOptions, "intercept">): Promise<RemoteRpc> {
  const worker = new Worker(join(__dirname, "remote-rpc-worker.js"), { workerData: options });
  // One question at a time: each reply settles the pending one.
  let pending: { resolve(reply: Reply): void; reject(error: Error): void } | undefined;
  const settle = (error: Error | undefined, reply?: Reply) => {
    const waiting = pending;
    pending = undefined;
    if (error) waiting?.reject(error);
    else waiting?.resolve(reply!);
  };
  worker.on("message", (reply: Reply) =>
    "error" in reply ? settle(new Error(`remote RPC: ${reply.error}`)) : settle(undefined, reply),
  );
  worker.on("error", (error) => settle(error));
  const next = () => new Promise<Reply>((resolve, reject) => (pending = { resolve, reject }));
  const { url } = (await next()) as { url: string };
  return {
    url,
    async receivedCount() {
      const reply = next();
      worker.postMessage("count");
      return ((await reply) as { count: number }).count;
    },
    async close() {
      const reply = next();
      worker.postMessage("close");
      await reply;
      await worker.terminate();
    },
  };
}
