import { mnemonicToAccount } from "viem/accounts";
import { toHex, type Address, type Hex } from "viem";

/** anvil's well-known test mnemonic: these keys are public and only ever fund a local chain. */
const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

export interface DevAccount {
  address: Address;
  privateKey: Hex;
}

function devAccount(index: number): DevAccount {
  const account = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index });
  return { address: account.address, privateKey: toHex(account.getHdKey().privateKey!) };
}

/** Fixed roles, so every devnet deployment is identical. */
export const devAccounts = {
  deployer: devAccount(0),
  safeOwners: [devAccount(1), devAccount(2), devAccount(3)],
  admin: devAccount(4),
  executor: devAccount(5),
  outsider: devAccount(6),
  spareOwners: [devAccount(7), devAccount(8)],
} as const;
