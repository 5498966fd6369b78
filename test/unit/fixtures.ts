import { getAddress, keccak256, stringToHex, zeroAddress, type Address, type Hex } from "viem";
import { TIMELOCK_ROLES, type AppState, type LiveState } from "../../src/chain/read-state";
import { parseStackConfig, type StackConfig, type StackConfigInput } from "../../src/config/schema";

/** A deterministic address per label: tests read as names, not hex. */
export const addr = (label: string): Address => getAddress(`0x${keccak256(stringToHex(label)).slice(26)}`);
export const hash = (label: string): Hex => keccak256(stringToHex(label));

export const SAFE = addr("safe");
export const TIMELOCK = addr("timelock");
export const KMS = addr("kms");
export const APP = addr("app-one");
export const SIGNERS = [addr("signer-1"), addr("signer-2"), addr("signer-3")];

/** A config as a user writes it (safe+timelock, one app), before validation. */
export function rawConfig(): StackConfigInput {
  return {
    network: { tier: "non-production", chainId: 31337, rpcUrls: ["http://127.0.0.1:8545"] },
    governance: {
      mode: "safe+timelock",
      safe: { address: SAFE, owners: SIGNERS.map((address, i) => ({ address, org: `org-${i}` })), threshold: 2 },
      timelock: { address: TIMELOCK, delay: "1h", expiration: "3d" },
    },
    kms: {
      proxy: KMS,
      osImages: [hash("os-1"), hash("os-2")],
      aggregatedMrs: [hash("mr-1")],
      devices: [hash("kms-device-1")],
    },
    apps: [
      {
        name: "app-one",
        proxy: APP,
        composeHashes: [hash("compose-1")],
        devices: [hash("app-device-1")],
        allowAnyDevice: false,
      },
    ],
  };
}

export const config = (edit: (c: StackConfigInput) => void = () => {}): StackConfig => {
  const raw = rawConfig();
  edit(raw);
  return parseStackConfig(raw);
};

/** The chain exactly as rawConfig() declares it. */
export function liveState(): LiveState {
  const app: AppState = {
    name: "app-one",
    proxy: APP,
    variant: "released",
    implementation: addr("app-impl-1"),
    owner: TIMELOCK,
    twoStepOwnership: false,
    composeHashes: [hash("compose-1")],
    devices: [hash("app-device-1")],
    allowAnyDevice: false,
    upgradesDisabled: false,
    requireTcbUpToDate: false,
  };
  return {
    chainId: 31337,
    blockNumber: 100n,
    blockHash: `0x${"b1".repeat(32)}`,
    blockTimestamp: 1_000_000n,
    kms: {
      proxy: KMS,
      variant: "released",
      implementation: addr("kms-impl-1"),
      owner: TIMELOCK,
      twoStepOwnership: false,
      osImages: [hash("os-1"), hash("os-2")],
      aggregatedMrs: [hash("mr-1")],
      devices: [hash("kms-device-1")],
      gatewayAppId: "gateway",
      appImplementation: addr("app-impl-1"),
      info: { k256Pubkey: "0x", caPubkey: "0x", quote: "0x", eventlog: "0x" },
    },
    apps: [app],
    safe: { address: SAFE, owners: [...SIGNERS], threshold: 2, nonce: 0n, version: "1.4.1" },
    timelock: {
      address: TIMELOCK,
      kind: "expiring",
      delay: 3600n,
      expiration: 259200n,
      roleIds: { ...TIMELOCK_ROLES },
      roles: { proposer: [SAFE], canceller: [SAFE], executor: [zeroAddress], admin: [TIMELOCK] },
    },
  };
}
