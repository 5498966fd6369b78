import { concat, getContractAddress, type Address, type Hex, type PublicClient, type WalletClient } from "viem";

/** The deterministic deployment proxy (Arachnid): calldata = salt ‖ initcode; same address on every chain, predeployed by anvil. */
export const DETERMINISTIC_DEPLOYER: Address = "0x4e59b44847b379578588920ca78fbf26c0b4956c";

export interface DeterministicDeployment {
  salt: Hex;
  initcode: Hex;
}

/** Where the deployment proxy puts this initcode with this salt: known before anything is sent. */
export function create2Address({ salt, initcode }: DeterministicDeployment): Address {
  return getContractAddress({ opcode: "CREATE2", from: DETERMINISTIC_DEPLOYER, salt, bytecode: initcode });
}

/** Deploys through the deployment proxy unless the code is there already; returns the transaction sent, if any. */
export async function deployDeterministic(
  client: PublicClient,
  wallet: WalletClient,
  deployment: DeterministicDeployment,
): Promise<{ address: Address; transaction?: Hex }> {
  const address = create2Address(deployment);
  const code = await client.getCode({ address });
  if (code && code !== "0x") return { address };
  const deployer = await client.getCode({ address: DETERMINISTIC_DEPLOYER });
  if (!deployer || deployer === "0x") {
    throw new Error(
      `the deterministic deployment proxy ${DETERMINISTIC_DEPLOYER} has no code on chain ${client.chain?.id}: deploy it first (its presigned transaction), or give the implementation's address`,
    );
  }
  const transaction = await wallet.sendTransaction({
    account: wallet.account!,
    chain: wallet.chain,
    to: DETERMINISTIC_DEPLOYER,
    data: concat([deployment.salt, deployment.initcode]),
  });
  const receipt = await client.waitForTransactionReceipt({ hash: transaction });
  const deployed = await client.getCode({ address, blockNumber: receipt.blockNumber });
  if (receipt.status !== "success" || !deployed || deployed === "0x") {
    throw new Error(
      `deploying the implementation at ${address} failed in ${transaction} (${receipt.status}): its constructor reverted or ran out of gas`,
    );
  }
  return { address, transaction };
}
