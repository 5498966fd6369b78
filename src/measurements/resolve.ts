import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";

/** A measurement given as the artifact it is computed from: sha256 of the file's exact bytes. */
interface FileMeasurement {
  sha256Of: string;
}

const MEASUREMENT_LISTS = { kms: ["osImages", "aggregatedMrs", "devices"], app: ["composeHashes", "devices"] } as const;

function isFileMeasurement(value: unknown): value is FileMeasurement {
  return typeof value === "object" && value !== null && typeof (value as FileMeasurement).sha256Of === "string";
}

/**
 * dstack measures an app by sha256 of the exact bytes of its app-compose.json, and an OS image by
 * sha256 of its sha256sum.txt. Config entries `{ sha256Of: <path> }` become those hashes here,
 * before validation, so the plan, the diff and the proposal all show the hash itself.
 */
export function resolveMeasurementFiles(raw: unknown, root: string): unknown {
  if (typeof raw !== "object" || raw === null) return raw;
  const config = raw as { kms?: Record<string, unknown>; apps?: Record<string, unknown>[] };
  const resolveList = (owner: Record<string, unknown> | undefined, key: string, path: string) => {
    const list = owner?.[key];
    if (!Array.isArray(list)) return;
    owner![key] = list.map((entry, index) =>
      isFileMeasurement(entry) ? hashFile(entry.sha256Of, root, `${path}.${key}[${index}].sha256Of`) : entry,
    );
  };
  const resolved = structuredClone(config);
  for (const key of MEASUREMENT_LISTS.kms) resolveList(resolved.kms, key, "kms");
  resolved.apps?.forEach((app, i) => {
    for (const key of MEASUREMENT_LISTS.app) resolveList(app, key, `apps[${i}]`);
  });
  return resolved;
}

function hashFile(file: string, root: string, field: string): string {
  const path = isAbsolute(file) ? file : join(root, file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new Error(`${field}: cannot read ${path}; give a path relative to the project directory, or the hash itself`);
  }
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}
