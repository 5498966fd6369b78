import { parentPort, workerData } from "node:worker_threads";
import { receivedCount, startFaultyRpc, type FaultyRpcOptions } from "../test/helpers/faulty-rpc";

/** The worker side of remote-rpc.ts: one faulty RPC, answering "count" and "close" from its parent. */
async function serve() {
  const rpc = await startFaultyRpc(workerData as FaultyRpcOptions);
  parentPort!.on("message", async (message: "count" | "close") => {
    if (message === "count") parentPort!.postMessage({ count: receivedCount(rpc) });
    else {
      await rpc.close();
      parentPort!.postMessage({ closed: true });
    }
  });
  parentPort!.postMessage({ url: rpc.url });
}

serve().catch((error: Error) => parentPort!.postMessage({ error: error.message }));
