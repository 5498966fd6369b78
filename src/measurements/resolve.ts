import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Hex } from "viem";
import { setFields } from "../governed/registry";

/** A measurement that cannot be computed: the message names the config field and the fix. */
export class MeasurementError extends Error {
  override name = "MeasurementError";
}

/** A measurement given as the artifact it is computed from: sha256 of the file's exact bytes. */
interface FileMeasurement {
  sha256Of: string;
}

/**
 * A measurement computed by the team's own reproducible build command (dstack's measurement tool,
 * `docker compose config | sha256sum`, ...), run in the project directory; it prints the 32-byte
 * hash. `inputs` are the files it reads: it runs again only when one of them changes.
 */
export interface MeasurementCommand {
  /** The config field it fills, e.g. `apps[0].composeHashes[1]`. */
  field: string;
  command: string;
  inputs: string[];
}

/** Hashes printed by the commands of this run, by command text (computed by the Pulumi program). */
export type MeasuredByCommand = Record<string, Hex>;

type Entry = { field: string; value: unknown; replace: (hash: Hex) => void };

/** Every measurement entry of a raw config with the field it sits in, in config order. */
function measurementEntries(config: { kms?: Record<string, unknown>; apps?: Record<string, unknown>[] }): Entry[] {
  const entries: Entry[] = [];
  for (const { set, section, field } of setFields(config)) {
    const list = section[set.property];
    if (!set.measuredFromFile || !Array.isArray(list)) continue;
    for (const [index, value] of list.entries()) {
      const replace = (hash: string) => {
        list[index] = hash;
      };
      entries.push({ field: `${field}[${index}]`, value, replace });
    }
  }
  return entries;
}

function isFileMeasurement(value: unknown): value is FileMeasurement {
  return typeof value === "object" && value !== null && typeof (value as FileMeasurement).sha256Of === "string";
}

function isCommandEntry(value: unknown): value is object {
  return typeof value === "object" && value !== null && "command" in value;
}

/** A `{ command, inputs }` entry, checked: both keys, nothing else. */
function commandOf(field: string, value: object): MeasurementCommand {
  const { command, inputs, ...rest } = value as { command?: unknown; inputs?: unknown };
  const unknown = Object.keys(rest);
  if (unknown.length)
    throw new MeasurementError(
      `${field}.${unknown[0]}: unknown key; a measurement by command has only "command" and "inputs"`,
    );
  if (typeof command !== "string" || !command.trim())
    throw new MeasurementError(`${field}.command: give the shell command that prints the hash`);
  if (!Array.isArray(inputs) || !inputs.length || !inputs.every((i) => typeof i === "string" && i)) {
    throw new MeasurementError(
      `${field}.inputs: list the files the command reads (paths relative to the project directory); it runs again when one changes`,
    );
  }
  return { field, command, inputs };
}

/** The `{ command, inputs }` measurements of a raw config, for the Pulumi program to run. */
export function measurementCommands(raw: unknown): MeasurementCommand[] {
  if (typeof raw !== "object" || raw === null) return [];
  return measurementEntries(raw as never)
    .filter((entry) => isCommandEntry(entry.value))
    .map((entry) => commandOf(entry.field, entry.value as object));
}

/** What a command printed, as a measurement: exactly one 32-byte hash (64 hex digits, 0x optional). */
export function measurementFromOutput(m: MeasurementCommand, stdout: string, stderr = ""): Hex {
  const printed = stdout.trim();
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(printed)) return `0x${printed.replace(/^0x/, "").toLowerCase()}`;
  const shown = printed.length > 120 ? `${printed.slice(0, 120)}…` : printed;
  throw new MeasurementError(
    `${m.field}.command: \`${m.command}\` printed "${shown}"; it must print one 32-byte hash (64 hex digits, 0x optional), e.g. end with | cut -d' ' -f1${stderr.trim() ? `; its stderr:\n${stderr.trim()}` : ""}`,
  );
}

/** The error of a command that failed: the field, the command, its exit and its stderr. */
export function measurementCommandFailed(m: MeasurementCommand, exit: string, stderr: string): Error {
  return new MeasurementError(
    `${m.field}.command: \`${m.command}\` failed (${exit})${stderr.trim() ? `:\n${stderr.trim()}` : ""}`,
  );
}

function projectPath(file: string, root: string): string {
  return isAbsolute(file) ? file : join(root, file);
}

/** sha256 of each input file, as `<path> sha256:<hex>`: the triggers that make the command run again. */
export function measurementInputDigests(m: MeasurementCommand, root: string): string[] {
  return m.inputs.map((file, index) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(projectPath(file, root));
    } catch {
      throw new MeasurementError(
        `${m.field}.inputs[${index}]: cannot read ${file}; give a path relative to the project directory`,
      );
    }
    return `${file} sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  });
}

/** Runs a measurement command outside Pulumi (the gov CLI, another stack's config): sh -c in the project directory. */
function runMeasurementCommand(m: MeasurementCommand, root: string): Hex {
  const result = spawnSync("/bin/sh", ["-c", m.command], { cwd: root, encoding: "utf8", timeout: 600_000 });
  if (result.error) throw measurementCommandFailed(m, result.error.message, "");
  if (result.status !== 0)
    throw measurementCommandFailed(
      m,
      result.signal ? `killed by ${result.signal}` : `exit code ${result.status}`,
      result.stderr,
    );
  return measurementFromOutput(m, result.stdout, result.stderr);
}

/**
 * dstack measures an app by sha256 of the exact bytes of its app-compose.json, and an OS image by
 * sha256 of its sha256sum.txt. Config entries `{ sha256Of: <path> }` become those hashes here, and
 * `{ command, inputs }` entries the hash their command printed (from `measured` when the Pulumi
 * program already ran it, else run here), before validation, so the plan, the diff and the proposal
 * all show the hash itself.
 */
export function resolveMeasurements(raw: unknown, root: string, measured: MeasuredByCommand = {}): unknown {
  if (typeof raw !== "object" || raw === null) return raw;
  const resolved = structuredClone(raw) as never;
  expandHashesFiles(resolved, root);
  for (const entry of measurementEntries(resolved)) {
    if (isFileMeasurement(entry.value)) entry.replace(hashFile(entry.value.sha256Of, root, `${entry.field}.sha256Of`));
    else if (isCommandEntry(entry.value)) {
      const m = commandOf(entry.field, entry.value);
      entry.replace(measured[m.command] ?? runMeasurementCommand(m, root));
    }
  }
  return resolved;
}

/**
 * A set written as `{ hashesFile: <path> }` becomes the hashes the file lists, one per line (blank
 * lines and `#` comments skipped). Pulumi hands the whole config to the program in one environment
 * variable, which Linux caps at 128 KiB (about 1,900 hashes): a long set lives in a file instead.
 */
function expandHashesFiles(config: { kms?: Record<string, unknown>; apps?: Record<string, unknown>[] }, root: string) {
  // Every set, measurement or not, may be read from a file instead of listed.
  for (const { set, section, field } of setFields(config)) {
    const value = section[set.property];
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    const { hashesFile, ...rest } = value as { hashesFile?: unknown };
    const unknown = Object.keys(rest);
    if (unknown.length)
      throw new MeasurementError(`${field}.${unknown[0]}: unknown key; a set read from a file has only "hashesFile"`);
    if (typeof hashesFile !== "string" || !hashesFile)
      throw new MeasurementError(`${field}.hashesFile: give the path of a file listing one hash per line`);
    section[set.property] = hashesOf(hashesFile, root, `${field}.hashesFile`);
  }
}

/** The hashes a file lists, each checked where it stands (file and line), lowercase. */
function hashesOf(file: string, root: string, field: string): Hex[] {
  let text: string;
  try {
    text = readFileSync(projectPath(file, root), "utf8");
  } catch {
    throw new MeasurementError(`${field}: cannot read ${file}; give a path relative to the project directory`);
  }
  return text.split("\n").flatMap((line, index) => {
    const entry = line.replace(/#.*/, "").trim();
    if (!entry) return [];
    if (!/^0x[0-9a-fA-F]{64}$/.test(entry))
      throw new MeasurementError(
        `${field}: ${file} line ${index + 1}: "${entry.length > 80 ? `${entry.slice(0, 80)}…` : entry}" is not a 0x-prefixed 32-byte hash`,
      );
    return [entry.toLowerCase() as Hex];
  });
}

function hashFile(file: string, root: string, field: string): Hex {
  const path = projectPath(file, root);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new MeasurementError(
      `${field}: cannot read ${path}; give a path relative to the project directory, or the hash itself`,
    );
  }
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}
