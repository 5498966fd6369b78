import { keccak256, type Address, type Hex, type PublicClient } from "viem";
import { readLiveState, type LiveState } from "../chain/read-state";
import type { StackConfig } from "../config/schema";
import { implementationOf, isImplementationChange } from "../plan/changes";
import type { PlannedCall } from "../plan/types";
import type { Finding } from "./findings";
import { implementationPath } from "./upgrade-checks";

export interface PromotionSource {
  name: string;
  config: StackConfig;
  client: PublicClient;
}

/**
 * Implementations live at different addresses on different chains, so they are compared by code.
 * A UUPS implementation embeds its own address (OpenZeppelin's __self immutable): it is masked.
 */
async function codeFingerprint(client: PublicClient, address: Address, blockNumber?: bigint): Promise<Hex | undefined> {
  const code = await client.getCode({ address, blockNumber });
  if (!code || code === "0x") return undefined;
  return keccak256(code.toLowerCase().replaceAll(address.slice(2).toLowerCase(), "0".repeat(40)) as Hex);
}

/**
 * Promotion gate: every OS image, compose hash and implementation the calls newly authorize must
 * already be authorized on the source (non-production) stack's chain.
 */
export async function checkPromotion(
  target: { name: string; client: PublicClient; live: LiveState; config: StackConfig },
  source: PromotionSource,
  calls: readonly PlannedCall[],
): Promise<Finding[]> {
  const path = "policy.promotion.fromStack";
  if (source.name === target.name || source.config.network.tier !== "non-production") {
    return [
      {
        rule: "promotion.source",
        path,
        message: `stack ${source.name} is ${source.name === target.name ? "this stack itself" : "a production stack"}; promotion needs a non-production stack to promote from`,
        fix: `name a non-production stack (network.tier: non-production) in ${path}`,
      },
    ];
  }
  const from = await readLiveState(source.client, source.config);
  const where = `stack ${source.name} (chain ${from.chainId}, block ${from.blockNumber})`;
  const sourceImplementations = [
    from.kms.implementation,
    from.kms.appImplementation,
    ...from.apps.map((a) => a.implementation),
  ];
  const sourcePrints = new Set(
    (await Promise.all(sourceImplementations.map((a) => codeFingerprint(source.client, a, from.blockNumber)))).filter(
      Boolean,
    ),
  );

  const findings: Finding[] = [];
  for (const call of calls) {
    const change = call.change;
    if (change.kind === "set.add" && change.set.property === "osImages") {
      const hash = change.item;
      if (!from.kms.osImages.includes(hash))
        findings.push({
          rule: "promotion.os-image",
          path: "kms.osImages",
          message: `OS image ${hash} is not authorized on ${where}`,
          fix: `authorize it on ${source.name} first, or remove it from kms.osImages`,
        });
    }
    if (change.kind === "set.add" && change.set.property === "composeHashes") {
      const name = call.resource.slice(4);
      const index = target.config.apps.findIndex((a) => a.name === name);
      const hash = change.item;
      const sourceApp = from.apps.find((a) => a.name === name);
      if (!sourceApp?.composeHashes.includes(hash)) {
        findings.push({
          rule: "promotion.compose-hash",
          path: `apps[${index}].composeHashes`,
          message: sourceApp
            ? `compose hash ${hash} of app ${name} is not authorized on ${where}`
            : `${where} has no app ${name} to promote compose hash ${hash} from`,
          fix: sourceApp
            ? `authorize it for ${name} on ${source.name} first, or remove it`
            : `declare app ${name} on ${source.name} and authorize the hash there first`,
        });
      }
    }
    if (isImplementationChange(change)) {
      const implementation = implementationOf(change);
      const print = await codeFingerprint(target.client, implementation, target.live.blockNumber);
      if (!print || !sourcePrints.has(print)) {
        findings.push({
          rule: "promotion.implementation",
          path: implementationPath(target.config, call),
          message: `implementation ${implementation} runs code that no contract of ${where} runs`,
          fix: `upgrade ${source.name} to the same code first, or keep the current implementation`,
        });
      }
    }
  }
  return findings;
}
