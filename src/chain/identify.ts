import type { Address, PublicClient } from "viem";
import type { StackConfig } from "../config/schema";
import { GovernanceError } from "../errors";
import { dstackAppAbi, dstackKmsAbi, safeAbi, timelockAbi } from "./abis";

/** What a configured address must hold. */
export type ContractKind = "a Safe" | "a timelock" | "a DstackKms" | "a DstackApp";

// One view call only that kind answers: the first that answers names what is there.
const PROBES: { kind: ContractKind; abi: readonly unknown[]; functionName: string }[] = [
  { kind: "a Safe", abi: safeAbi, functionName: "getThreshold" },
  { kind: "a timelock", abi: timelockAbi, functionName: "getMinDelay" },
  { kind: "a DstackKms", abi: dstackKmsAbi, functionName: "kmsInfo" },
  { kind: "a DstackApp", abi: dstackAppAbi, functionName: "allowAnyDevice" },
];

/** A configured address that does not hold what its field says. */
export class WrongContractError extends GovernanceError {
  constructor(readonly mismatches: { field: string; address: Address; expected: ContractKind; found: string }[]) {
    super(
      "contract",
      "a configured address does not hold the contract its field names",
      mismatches.map((m) => ({
        path: m.field,
        message: `${m.address} ${m.found}, not ${m.expected}`,
        fix: `set ${m.field} to the address of ${m.expected}`,
      })),
    );
  }
}

/** The fields of the config that name contracts, with what each must be. */
export function expectedContracts(config: StackConfig): { field: string; address: Address; expected: ContractKind }[] {
  const fields: { field: string; address: Address; expected: ContractKind }[] = [];
  const governance = config.governance;
  if (governance.mode !== "direct")
    fields.push({ field: "governance.safe.address", address: governance.safe.address, expected: "a Safe" });
  if (governance.mode === "safe+timelock")
    fields.push({ field: "governance.timelock.address", address: governance.timelock.address, expected: "a timelock" });
  fields.push({ field: "kms.proxy", address: config.kms.proxy, expected: "a DstackKms" });
  config.apps.forEach((app, i) => {
    fields.push({ field: `apps[${i}].proxy`, address: app.proxy, expected: "a DstackApp" });
  });
  return fields;
}

/**
 * Looks at what each configured address holds (code, then one probe per kind, at the block) and
 * throws WrongContractError naming every field whose address holds something else. Called only
 * once a read has failed, so a healthy stack pays nothing for it (default block: the latest).
 */
export async function assertExpectedContracts(
  client: PublicClient,
  config: StackConfig,
  blockNumber?: bigint,
): Promise<void> {
  const fields = expectedContracts(config);
  const codes = await Promise.all(fields.map((f) => client.getCode({ address: f.address, blockNumber })));
  const probes = await client.multicall({
    contracts: fields.flatMap((f) =>
      PROBES.map((p) => ({ address: f.address, abi: p.abi, functionName: p.functionName })),
    ) as never,
    allowFailure: true,
    blockNumber,
  });
  const mismatches = fields.flatMap((f, i) => {
    const answered = PROBES.filter(
      (_, j) => (probes[i * PROBES.length + j] as { status: string }).status === "success",
    ).map((p) => p.kind);
    if (answered.includes(f.expected)) return [];
    const found =
      !codes[i] || codes[i] === "0x"
        ? `has no code${blockNumber === undefined ? "" : ` at block ${blockNumber}`}`
        : answered.length
          ? `is ${answered[0]}`
          : "is a contract of another kind";
    return [{ ...f, found }];
  });
  if (mismatches.length) throw new WrongContractError(mismatches);
}
