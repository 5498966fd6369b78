import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createChainClient, unreachableReason } from "../../src/chain/client";
import { closedPort } from "../helpers/closed-port";

describe("an RPC URL nothing can reach", () => {
  it("is recognised through the causes fetch wraps it in", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    assert.match(unreachableReason(new TypeError("fetch failed", { cause: refused })) ?? "", /refused the connection/);
    const unresolved = Object.assign(new Error("getaddrinfo ENOTFOUND x.invalid"), { code: "ENOTFOUND" });
    assert.match(unreachableReason(new TypeError("fetch failed", { cause: unresolved })) ?? "", /does not resolve/);
    assert.match(unreachableReason(new TypeError("fetch failed", { cause: new Error("bad port") })) ?? "", /port/);
    // A reset or a timeout may mend itself: those are retried.
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    assert.equal(unreachableReason(new TypeError("fetch failed", { cause: reset })), undefined);
  });

  it("fails after one attempt per URL, naming every URL and why", async () => {
    const urls = [`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`];
    const realFetch = globalThis.fetch;
    let attempts = 0;
    globalThis.fetch = (input, init) => {
      attempts++;
      return realFetch(input, init);
    };
    try {
      for (const rpcUrls of [urls.slice(0, 1), urls]) {
        attempts = 0;
        const client = createChainClient({ chainId: 1, rpcUrls });
        await assert.rejects(client.getChainId(), (error: Error) => {
          assert.equal(
            error.message.split("\n")[0],
            `no RPC answered eth_chainId: ${rpcUrls.join(", ")} refused the connection (nothing listens there); check network.rpcUrls`,
          );
          return true;
        });
        assert.equal(attempts, rpcUrls.length, "one connection attempt per URL, not a retry loop with backoff");
      }
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
