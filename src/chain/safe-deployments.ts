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

export const SAFE_VERSION = "1.4.1" as const;

type DeploymentGetter = typeof getSafeSingletonDeployment;

function canonical(get: DeploymentGetter, what: string): Address {
  const deployment = get({ version: SAFE_VERSION });
  const address = deployment?.deployments?.canonical?.address;
  if (!address) throw new Error(`safe-deployments has no canonical ${what} for Safe ${SAFE_VERSION}`);
  return getAddress(address);
}

/** The Safe v1.4.1 contracts at their canonical addresses (same on Base, Base Sepolia and our devnet). */
export const canonicalSafeContracts = {
  safeSingleton: canonical(getSafeSingletonDeployment, "Safe singleton"),
  safeL2Singleton: canonical(getSafeL2SingletonDeployment, "SafeL2 singleton"),
  proxyFactory: canonical(getProxyFactoryDeployment, "SafeProxyFactory"),
  multiSend: canonical(getMultiSendDeployment, "MultiSend"),
  multiSendCallOnly: canonical(getMultiSendCallOnlyDeployment, "MultiSendCallOnly"),
  fallbackHandler: canonical(getCompatibilityFallbackHandlerDeployment, "CompatibilityFallbackHandler"),
  signMessageLib: canonical(getSignMessageLibDeployment, "SignMessageLib"),
  createCall: canonical(getCreateCallDeployment, "CreateCall"),
  simulateTxAccessor: canonical(getSimulateTxAccessorDeployment, "SimulateTxAccessor"),
} as const;

/**
 * protocol-kit's per-chain address table. Given explicitly for every chain so that a chain
 * safe-deployments does not list (31337) behaves exactly like Base.
 */
export function safeContractNetworks(chainId: number) {
  const c = canonicalSafeContracts;
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
