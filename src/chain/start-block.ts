import type { Address, PublicClient } from "viem";

export type DeploymentBlock = { found: true; block: bigint } | { found: false; reason: string };

/** Code at an address at a block; undefined when the RPC serves that block's header but not its state. */
async function hasCodeAt(client: PublicClient, address: Address, blockNumber: bigint): Promise<boolean | undefined> {
  try {
    const code = await client.getCode({ address, blockNumber });
    return code !== undefined && code !== "0x";
  } catch {
    // A chain that starts later (or a block not there yet) has no code at that number; a node
    // that knows the block but refuses its state is a node without history.
    const block = await client.getBlock({ blockNumber }).catch(() => null);
    if (!block) return false;
    return undefined;
  }
}

/** The first block with code at `address`, by binary search over eth_getCode below `upTo`. */
async function firstBlockWithCode(client: PublicClient, address: Address, upTo: bigint): Promise<DeploymentBlock> {
  const atTop = await hasCodeAt(client, address, upTo);
  if (!atTop) return { found: false, reason: `${address} has no code at block ${upTo}` };
  let withCode = upTo;
  let without = -1n;
  while (withCode - without > 1n) {
    const middle = (withCode + without) / 2n;
    const code = await hasCodeAt(client, address, middle);
    if (code === undefined)
      return { found: false, reason: `the RPC does not serve state at block ${middle} (not an archive node)` };
    if (code) withCode = middle;
    else without = middle;
  }
  return { found: true, block: withCode };
}

/**
 * The block the oldest of the proxies was deployed in: the first one is searched, the others
 * only if they already had code just before it (about log2(head) + one request per proxy).
 */
export async function findDeploymentBlock(
  client: PublicClient,
  proxies: readonly Address[],
  upTo: bigint,
): Promise<DeploymentBlock> {
  let earliest = await firstBlockWithCode(client, proxies[0], upTo);
  if (!earliest.found || earliest.block === 0n) return earliest;
  const before = earliest.block - 1n;
  const older = await Promise.all(proxies.slice(1).map((proxy) => hasCodeAt(client, proxy, before)));
  if (older.includes(undefined))
    return { found: false, reason: `the RPC does not serve state at block ${before} (not an archive node)` };
  for (const [i, proxy] of proxies.slice(1).entries()) {
    if (!older[i] || !earliest.found) continue;
    const found = await firstBlockWithCode(client, proxy, earliest.block - 1n);
    if (!found.found) return found;
    earliest = found;
  }
  return earliest;
}
