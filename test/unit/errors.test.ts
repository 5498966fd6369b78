import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HttpRequestError } from "viem";
import { GovernanceError, redactUrl, redactUrls, renderError } from "../../src/errors";
import { ConfigError } from "../../src/config/schema";
import { PolicyError } from "../../src/policy/findings";

describe("one error model and renderer", () => {
  it("RPC URLs are shown without credentials, API-key paths or queries", () => {
    assert.equal(
      redactUrl("https://base-mainnet.g.alchemy.com/v2/abc123SECRET"),
      "https://base-mainnet.g.alchemy.com/…",
    );
    assert.equal(redactUrl("https://user:pass@rpc.example.org"), "https://rpc.example.org/…");
    assert.equal(redactUrl("https://rpc.example.org/?apikey=SECRET"), "https://rpc.example.org/…");
    assert.equal(redactUrl("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
    const text = redactUrls("no RPC answered eth_chainId: https://x.example/v3/SECRET, http://127.0.0.1:9 failed");
    assert.doesNotMatch(text, /SECRET/);
    assert.match(text, /https:\/\/x\.example\/…, http:\/\/127\.0\.0\.1:9 failed/);
  });

  it("an RPC answering HTML is named by its title, not pasted", () => {
    const page = `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>${"x".repeat(50_000)}</body></html>`;
    const error = new HttpRequestError({
      url: "https://rpc.example/v2/KEY",
      status: 502,
      body: { page },
      details: page,
    });
    const text = renderError(error, { oneLine: true });
    assert.match(text, /an HTML page titled "502 Bad Gateway"/);
    assert.ok(text.length < 600, `short: ${text.length} characters`);
    assert.doesNotMatch(text, /KEY/);
  });

  it("config and policy errors render each problem with its path and fix, on lines or on one line", () => {
    const config = new ConfigError([
      { path: "network.chainId", message: "must be more than 0" },
      { path: "kms.device", message: 'unknown key; did you mean "devices"?' },
    ]);
    assert.equal(
      renderError(config),
      'invalid stack config:\n  - network.chainId: must be more than 0\n  - kms.device: unknown key; did you mean "devices"?',
    );
    assert.equal(
      renderError(config, { oneLine: true }),
      'invalid stack config: network.chainId: must be more than 0; kms.device: unknown key; did you mean "devices"?',
    );
    const policy = new PolicyError([
      { rule: "rail.empty-os-images", path: "kms.osImages", message: "the set would be empty", fix: "keep one" },
    ]);
    assert.ok(policy instanceof GovernanceError && policy.kind === "policy");
    assert.equal(
      renderError(policy),
      "refusing to propose, the policy forbids it:\n  - kms.osImages: the set would be empty [rail.empty-os-images]; fix: keep one",
    );
  });

  it("plain errors become one line; stack traces only when asked", () => {
    const error = new Error("first\n  second");
    assert.equal(renderError(error, { oneLine: true }), "first second");
    assert.match(renderError(error, { debug: true }), /at .*errors\.test/);
  });
});
