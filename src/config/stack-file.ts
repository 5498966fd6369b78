import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { SECTIONS, type StackConfigInput } from "./schema";

/** The Pulumi project name: stack config keys are "<project>:<key>". */
export const PROJECT = "dstack-governance";

export function stackFilePath(root: string, stack: string): string {
  return join(root, `Pulumi.${stack}.yaml`);
}

/** The governance sections of a Pulumi.<stack>.yaml as plain data (what the gov CLI validates). */
export function readStackFile(root: string, stack: string): Record<string, unknown> {
  const path = stackFilePath(root, stack);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`no stack file ${path}: create the stack (pulumi stack init ${stack}) or run gov import`);
  }
  const config = (parse(text)?.config ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    SECTIONS.filter((s) => config[`${PROJECT}:${s}`] !== undefined).map((s) => [s, config[`${PROJECT}:${s}`]]),
  );
}

/** Pulumi.<stack>.yaml text for a config (plus any extra top-level keys or config keys, e.g. secrets). */
export function renderStackFile(
  config: StackConfigInput,
  existing: { [key: string]: unknown; config?: Record<string, unknown> } = {},
): string {
  const keys = Object.fromEntries(
    SECTIONS.filter((s) => config[s] !== undefined).map((s) => [`${PROJECT}:${s}`, config[s]]),
  );
  return stringify({ ...existing, config: { ...existing.config, ...keys } }, { lineWidth: 0 });
}

/** Replaces the governance sections of a stack file, keeping its encryption salt and secrets. */
export function writeStackFile(root: string, stack: string, config: StackConfigInput): void {
  const path = stackFilePath(root, stack);
  const existing = existsSync(path) ? (parse(readFileSync(path, "utf8")) ?? {}) : {};
  writeFileSync(path, renderStackFile(config, existing));
}
