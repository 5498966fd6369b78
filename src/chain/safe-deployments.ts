import {
  getCompatibilityFallbackHandlerDeployment,
  getCreateCallDeployment,
  getMultiSendCallOnlyDeployment,
  getMultiSendDeployment,
  getProxyFactoryDeployment,
  getSafeL2SingletonDeployment,
  getSafeSingletonDeployment,
  getSignMessageLibDeployment,
  getSimulateTxAccessorDeployment,
} from "@safe-global/safe-deployments";
import { getAddress, type Address } from "viem";

/** The Safe versions this tool drives: 1.3.0 (many production Safes) and 1.4.1 (new ones). */
export const SAFE_VERSIONS = ["1.3.0", "1.4.1"] as const;
export type SafeVersion = (typeof SAFE_VERSIONS)[number];
export const SAFE_VERSION: SafeVersion = "1.4.1";

type DeploymentGetter = typeof getSafeSingletonDeployment;

function canonical(get: DeploymentGetter, what: string, version: SafeVersion): Address {
  const deployment = get({ version });
  const address = deployment?.deployments?.canonical?.address;
  if (!address) throw new Error(`safe-deployments has no canonical ${what} for Safe ${version}`);
  return getAddress(address);
}

function contractsOf(version: SafeVersion) {
  return {
    safeSingleton: canonical(getSafeSingletonDeployment, "Safe singleton", version),
    safeL2Singleton: canonical(getSafeL2SingletonDeployment, "SafeL2 singleton", version),
    proxyFactory: canonical(getProxyFactoryDeployment, "SafeProxyFactory", version),
    multiSend: canonical(getMultiSendDeployment, "MultiSend", version),
    multiSendCallOnly: canonical(getMultiSendCallOnlyDeployment, "MultiSendCallOnly", version),
    fallbackHandler: canonical(getCompatibilityFallbackHandlerDeployment, "CompatibilityFallbackHandler", version),
    signMessageLib: canonical(getSignMessageLibDeployment, "SignMessageLib", version),
    createCall: canonical(getCreateCallDeployment, "CreateCall", version),
    simulateTxAccessor: canonical(getSimulateTxAccessorDeployment, "SimulateTxAccessor", version),
  } as const;
}
export type SafeContracts = ReturnType<typeof contractsOf>;

/** Each version's contracts at their canonical addresses (same on Ethereum, Base, Base Sepolia and our devnet). */
export const canonicalSafeContractsByVersion: Record<SafeVersion, SafeContracts> = {
  "1.3.0": contractsOf("1.3.0"),
  "1.4.1": contractsOf("1.4.1"),
};
export const canonicalSafeContracts = canonicalSafeContractsByVersion[SAFE_VERSION];

/** A Safe's VERSION() as one this tool drives; anything else is refused by name. */
export function safeVersionOf(version: string, safe: Address): SafeVersion {
  if ((SAFE_VERSIONS as readonly string[]).includes(version)) return version as SafeVersion;
  throw new Error(`Safe ${safe} reports VERSION() "${version}"; this tool drives Safe ${SAFE_VERSIONS.join(" and ")}`);
}

/**
 * protocol-kit's per-chain address table for the Safe's own version. Given explicitly for every
 * chain so that a chain safe-deployments does not list (31337) behaves exactly like Base.
 */
export function safeContractNetworks(chainId: number, version: SafeVersion = SAFE_VERSION) {
  const c = canonicalSafeContractsByVersion[version];
  return {
    [String(chainId)]: {
      safeSingletonAddress: c.safeL2Singleton,
      safeProxyFactoryAddress: c.proxyFactory,
      multiSendAddress: c.multiSend,
      multiSendCallOnlyAddress: c.multiSendCallOnly,
      fallbackHandlerAddress: c.fallbackHandler,
      signMessageLibAddress: c.signMessageLib,
      createCallAddress: c.createCall,
      simulateTxAccessorAddress: c.simulateTxAccessor,
    },
  };
}
