/**
 * Loads the compiled contract artifacts written by contracts/build.ts
 * (<repo>/artifacts/<Name>.json = { abi, bytecode, deployedBytecode }).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Abi, Hex } from "viem";
import { artifactsDir, type ArtifactName } from "./build";

export type { ArtifactName } from "./build";
export { ARTIFACT_NAMES } from "./build";

export interface Artifact {
  abi: Abi;
  bytecode: Hex;
  deployedBytecode: Hex;
}

const cache = new Map<ArtifactName, Artifact>();

export function loadArtifact(name: ArtifactName): Artifact {
  const cached = cache.get(name);
  if (cached) return cached;
  let dir: string;
  try {
    dir = artifactsDir();
  } catch (e) {
    throw new Error(`contract artifact ${name} not found (${(e as Error).message}): run npm run build`);
  }
  const file = path.join(dir, `${name}.json`);
  if (!fs.existsSync(file)) {
    throw new Error(`contract artifact ${name} not found at ${file}: run npm run build`);
  }
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Artifact;
  if (!Array.isArray(parsed.abi) || !parsed.bytecode?.startsWith("0x") || !parsed.deployedBytecode?.startsWith("0x")) {
    throw new Error(`contract artifact ${file} is malformed: run npm run build`);
  }
  cache.set(name, parsed);
  return parsed;
}
