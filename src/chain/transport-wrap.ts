import type { Transport } from "viem";

export type RequestFn = (args: unknown, opts: unknown) => Promise<unknown>;

/** `transport` with each request passed through `wrap`, which sends it on with `request`. */
export function wrapRequest(
  transport: Transport,
  wrap: (request: RequestFn, args: unknown, opts: unknown) => Promise<unknown>,
): Transport {
  return (params) => {
    const inner = transport(params);
    const request = inner.request as RequestFn;
    return { ...inner, request: ((args: unknown, opts: unknown) => wrap(request, args, opts)) as typeof inner.request };
  };
}
