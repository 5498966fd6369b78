import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The package root, found from this file whether it runs from src/ (tsx) or dist/src/ (tsc). */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}
