import { relative } from "node:path";
import type { Address } from "viem";
import type { PlannedCall } from "../plan/types";
import type { ImplementationSource } from "./resolve";
import { storageLayoutOf } from "./layout";
import { writeLayoutRecords, type LayoutRecord } from "./layout-records";

/** Records the storage layout of each artifact-given implementation these calls upgrade to: the next upgrade's reference. */
export async function recordProposedLayouts(
  stack: { root: string; name: string; implementations: readonly ImplementationSource[] },
  calls: readonly PlannedCall[],
): Promise<void> {
  const records: LayoutRecord[] = [];
  for (const call of calls.filter((c) => c.functionName === "upgradeToAndCall")) {
    const source = stack.implementations.find((s) => s.resource === call.resource && s.address === call.args[0]);
    if (!source) continue;
    const record = (address: Address, artifact: ImplementationSource["artifact"]): LayoutRecord => ({
      format: "dstack-governance-layout/1",
      address,
      contract: artifact.name,
      artifact: relative(stack.root, artifact.file),
      layout: storageLayoutOf(artifact),
    });
    records.push(record(source.address, source.artifact));
  }
  if (records.length) await writeLayoutRecords(stack.root, stack.name, records);
}
