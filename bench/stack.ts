import { encodeFunctionData, type Abi, type Address, type Hex } from "viem";
import { startAnvil, type AnvilOptions, type RunningAnvil } from "../src/chain/anvil";
import { deployDevnet, devMeasurement, type DevnetDeployment } from "../devnet/deploy";
import { devnetStackConfig } from "../devnet/stack-config";
import { dstackAppAbi, dstackKmsAbi } from "../src/chain/abis";
import { parseStackConfig, type StackConfig, type StackConfigInput } from "../src/config/schema";
import { sendAsOwner, type OwnerCall } from "./owner-calls";

/** One on-chain authorization set: where it lives, how to change it, where the config lists it. */
interface ItemSet {
  label: string;
  /** Share of new items this set receives, out of the sum of all weights. */
  weight: number;
  proxy: Address;
  abi: Abi;
  add: string;
  remove: string;
  /** Live members, oldest first. */
  items: Hex[];
  writeTo(config: StackConfigInput, items: Hex[]): void;
}

type KmsField = "osImages" | "aggregatedMrs" | "devices";
type AppField = "composeHashes" | "devices";

function kmsSet(d: DevnetDeployment, field: KmsField, weight: number, add: string, remove: string): ItemSet {
  return {
    label: `kms-${field}`,
    weight,
    proxy: d.kms.proxy,
    abi: dstackKmsAbi,
    add,
    remove,
    items: [...d.kms[field]],
    writeTo: (config, items) => void (config.kms[field] = items),
  };
}

function appSet(
  d: DevnetDeployment,
  index: number,
  field: AppField,
  weight: number,
  add: string,
  remove: string,
): ItemSet {
  const app = d.apps[index];
  return {
    label: `${app.name}-${field}`,
    weight,
    proxy: app.proxy,
    abi: dstackAppAbi,
    add,
    remove,
    items: [...app[field]],
    writeTo: (config, items) => void (config.apps![index][field] = items),
  };
}

/** Mostly OS images and compose hashes, as on a real KMS; every set kind gets some. */
function itemSets(d: DevnetDeployment): ItemSet[] {
  return [
    kmsSet(d, "osImages", 8, "addOsImageHash", "removeOsImageHash"),
    kmsSet(d, "aggregatedMrs", 1, "addKmsAggregatedMr", "removeKmsAggregatedMr"),
    kmsSet(d, "devices", 1, "addKmsDevice", "removeKmsDevice"),
    ...d.apps.flatMap((_, i) => [
      appSet(d, i, "composeHashes", 4, "addComposeHash", "removeComposeHash"),
      appSet(d, i, "devices", 1, "addDevice", "removeDevice"),
    ]),
  ];
}

/** Revocations come from the biggest set, so none ever runs dry. */
function biggest(sets: ItemSet[]): ItemSet {
  return sets.reduce((max, set) => (set.items.length > max.items.length ? set : max));
}

/** The one item the desired config adds on top of the live ones, so the plan has exactly one call. */
export const EXTRA_OS_IMAGE = devMeasurement("bench-extra-os-image");

/** A devnet whose KMS and apps can be grown to any number of authorized items. */
export interface BenchStack {
  deployment: DevnetDeployment;
  /** Authorized items live on chain, over every KMS and app set. */
  itemCount(): number;
  /** Authorizes new items (and revokes ~1% of the old ones, so Removed events exist) until `items` are live. */
  growTo(items: number): Promise<void>;
  /** Lists exactly the live items: its plan must be empty. */
  liveConfig(): StackConfig;
  /** The live items plus EXTRA_OS_IMAGE. */
  desiredConfig(): StackConfig;
  stop(): Promise<void>;
}

export async function startBenchStack(anvilOptions?: AnvilOptions): Promise<BenchStack> {
  const anvil = await startAnvil(anvilOptions);
  try {
    return benchStack(anvil, await deployDevnet(anvil.rpcUrl, "safe+timelock"));
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

function benchStack(anvil: RunningAnvil, deployment: DevnetDeployment): BenchStack {
  const sets = itemSets(deployment);
  const addOrder = sets.flatMap((set) => Array<ItemSet>(set.weight).fill(set));
  let added = 0;
  const itemCount = () => sets.reduce((sum, set) => sum + set.items.length, 0);
  const configWith = (extraOsImages: Hex[]) => {
    const config = devnetStackConfig(deployment);
    for (const set of sets) set.writeTo(config, [...set.items]);
    config.kms.osImages = [...config.kms.osImages, ...extraOsImages];
    return parseStackConfig(config);
  };

  const growTo = async (items: number) => {
    const removals = Math.max(1, Math.floor(items / 100));
    const additions = items - itemCount() + removals;
    if (additions < removals) throw new Error(`cannot grow to ${items} items: ${itemCount()} are already live`);
    // Calls are mined in this order: additions first, so a removal may revoke an item added just before.
    const calls: OwnerCall[] = [];
    for (let i = 0; i < additions; i++) {
      const set = addOrder[added % addOrder.length];
      const item = devMeasurement(`bench-${set.label}-${added++}`);
      set.items.push(item);
      calls.push({ to: set.proxy, data: encodeFunctionData({ abi: set.abi, functionName: set.add, args: [item] }) });
    }
    for (let i = 0; i < removals; i++) {
      const set = biggest(sets);
      calls.push({
        to: set.proxy,
        data: encodeFunctionData({ abi: set.abi, functionName: set.remove, args: [set.items.shift()] }),
      });
    }
    await sendAsOwner(anvil.rpcUrl, deployment.governanceOwner, calls);
  };

  return {
    deployment,
    itemCount,
    growTo,
    liveConfig: () => configWith([]),
    desiredConfig: () => configWith([EXTRA_OS_IMAGE]),
    stop: () => anvil.stop(),
  };
}
