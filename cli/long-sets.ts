import type { Hex } from "viem";
import type { StackConfigInput } from "../src/config/schema";
import { setFields } from "../src/governed/registry";

/**
 * Hashes a written stack file lists inline, at most. Pulumi hands the whole config to the program
 * in one environment variable, which Linux caps at 128 KiB (about 1,900 hashes): half of that
 * leaves room for the rest of the config.
 */
export const INLINE_HASHES = 1_000;

/** A set written to its own file: the stack file names it as `{ hashesFile: path }`. */
export interface HashesFile {
  field: string;
  /** Relative to the project directory, as the stack file gives it. */
  path: string;
  hashes: readonly Hex[];
}

/**
 * The config with its longest sets moved to hashes files under `hashes/<stack>/`, until at most
 * INLINE_HASHES remain inline, and the files to write. A config within the limit is unchanged.
 */
export function moveLongSets(
  input: StackConfigInput,
  stack: string,
): { config: StackConfigInput; files: HashesFile[] } {
  const config = structuredClone(input);
  const folder = `hashes/${stack.replace(/[^A-Za-z0-9._-]/g, "_")}`;
  const sets = setFields(config).map(({ set, section, field }) => ({
    section,
    key: set.property,
    field,
    file: set.contract === "kms" ? "kms" : `app-${section.name}`,
    hashes: (section[set.property] ?? []) as Hex[],
  }));
  let inline = sets.reduce((count, set) => count + set.hashes.length, 0);
  const files: HashesFile[] = [];
  for (const set of [...sets].sort((a, b) => b.hashes.length - a.hashes.length)) {
    if (inline <= INLINE_HASHES) break;
    const path = `${folder}/${set.file}-${set.key}.txt`;
    // The raw form of a stack file: the program expands `{ hashesFile }` before the schema parses it.
    set.section[set.key] = { hashesFile: path };
    files.push({ field: set.field, path, hashes: set.hashes });
    inline -= set.hashes.length;
  }
  return { config, files };
}

/** A hashes file's text: what it is, then one hash per line. */
export function hashesFileText(file: HashesFile, stack: string, block: bigint): string {
  return [`# ${file.field} of stack ${stack}, read at block ${block}: one hash per line`, ...file.hashes, ""].join(
    "\n",
  );
}
