import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { StorageLayout } from "@openzeppelin/upgrades-core";
import { getAddress, type Address } from "viem";
import { writeFilesAtomic } from "../proposal/atomic-write";
import { proposalDir } from "../proposal/files";

/**
 * proposals/<stack>/layouts/<implementation>.json: the storage layout of every implementation the
 * tool proposed, so the next upgrade has a reference even when the old artifact is gone.
 */
export interface LayoutRecord {
  format: "dstack-governance-layout/1";
  address: Address;
  /** Fully qualified contract name and the artifact it came from, as the config named it. */
  contract: string;
  artifact: string;
  layout: StorageLayout;
}

function recordPath(root: string, stack: string, address: Address): string {
  return join(proposalDir(root, stack), "layouts", `${getAddress(address)}.json`);
}

export async function readLayoutRecord(
  root: string,
  stack: string,
  address: Address,
): Promise<LayoutRecord | undefined> {
  let text: string;
  try {
    text = await readFile(recordPath(root, stack, address), "utf8");
  } catch {
    return undefined;
  }
  const record = JSON.parse(text) as LayoutRecord;
  if (
    record.format !== "dstack-governance-layout/1" ||
    getAddress(record.address) !== getAddress(address) ||
    !Array.isArray(record.layout?.storage)
  ) {
    throw new Error(
      `${recordPath(root, stack, address)} is not a storage-layout record of ${address}; restore it from git, or give the implementation's artifact as implementation.current`,
    );
  }
  return record;
}

export async function writeLayoutRecords(root: string, stack: string, records: LayoutRecord[]): Promise<void> {
  await writeFilesAtomic(
    records.map((r) => ({ path: recordPath(root, stack, r.address), contents: `${JSON.stringify(r, null, 2)}\n` })),
  );
}
