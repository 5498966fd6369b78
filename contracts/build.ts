/**
 * Compiles the Solidity fixtures in contracts/ with solc-js (offline; OpenZeppelin imports are
 * resolved from node_modules) and writes one `{ abi, bytecode, deployedBytecode }` JSON per
 * contract to <repo>/artifacts/<Name>.json.
 *
 * Cached: nothing is compiled when the hash of every source file, the solc version, the
 * OpenZeppelin versions and the compiler settings equals the one stored in
 * artifacts/.build-hash (and every expected artifact exists).
 *
 * Usable as a script (`node dist/contracts/build.js`) and as a module (`buildContracts()`).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Artifact name -> [source unit, contract name] in the solc output. */
export const ARTIFACT_SOURCES = {
  DstackKms: ["contracts/DstackKms.sol", "DstackKms"],
  DstackApp: ["contracts/DstackApp.sol", "DstackApp"],
  DstackKmsV2: ["contracts/DstackKmsV2.sol", "DstackKmsV2"],
  DstackAppV2: ["contracts/DstackAppV2.sol", "DstackAppV2"],
  DstackKmsTwoStep: ["contracts/DstackKmsTwoStep.sol", "DstackKmsTwoStep"],
  DstackAppTwoStep: ["contracts/DstackAppTwoStep.sol", "DstackAppTwoStep"],
  DstackKmsTwoStepV2: ["contracts/DstackKmsTwoStepV2.sol", "DstackKmsTwoStepV2"],
  DstackAppTwoStepV2: ["contracts/DstackAppTwoStepV2.sol", "DstackAppTwoStepV2"],
  ExpiringTimelock: ["contracts/ExpiringTimelock.sol", "ExpiringTimelock"],
  Multicall3: ["contracts/Multicall3.sol", "Multicall3"],
  MembershipReader: ["contracts/MembershipReader.sol", "MembershipReader"],
  ERC1967Proxy: ["@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol", "ERC1967Proxy"],
} as const;

export type ArtifactName = keyof typeof ARTIFACT_SOURCES;
export const ARTIFACT_NAMES = Object.keys(ARTIFACT_SOURCES) as ArtifactName[];

const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  // Storage layouts, ASTs and immutable positions feed the upgrade checks (build-info below);
  // outputSelection is not part of the metadata, so the bytecode is the same either way.
  outputSelection: {
    "*": {
      "*": [
        "abi",
        "evm.bytecode.object",
        "evm.bytecode.linkReferences",
        "evm.deployedBytecode.object",
        "evm.deployedBytecode.immutableReferences",
        "storageLayout",
      ],
      "": ["ast"],
    },
  },
} as const;

/** Every compiled contract as a Hardhat-format build-info (input with all sources + output), as a user's toolchain would write it. */
export const BUILD_INFO = path.join("build-info", "contracts.json");

/**
 * Walk up from this file to the repository root: the first directory with a package.json and
 * either the Solidity sources (contracts/DstackKms.sol) or built artifacts (artifacts/.build-hash).
 * Works from contracts/ (ts-node) and from dist/contracts/ (compiled).
 */
export function findRepoRoot(start: string = __dirname): string {
  let dir = path.resolve(start);
  for (;;) {
    if (
      fs.existsSync(path.join(dir, "package.json")) &&
      (fs.existsSync(path.join(dir, "contracts", "DstackKms.sol")) ||
        fs.existsSync(path.join(dir, "artifacts", ".build-hash")))
    ) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find the repository root (package.json + contracts/DstackKms.sol) above ${start}`);
    }
    dir = parent;
  }
}

export function artifactsDir(root: string = findRepoRoot()): string {
  return path.join(root, "artifacts");
}

function listSources(root: string): string[] {
  return fs
    .readdirSync(path.join(root, "contracts"))
    .filter((f) => f.endsWith(".sol"))
    .sort()
    .map((f) => `contracts/${f}`);
}

function packageVersion(root: string, pkg: string): string {
  const file = require.resolve(`${pkg}/package.json`, { paths: [root] });
  return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
}

function computeHash(root: string, sources: string[]): string {
  const h = createHash("sha256");
  h.update(`solc@${packageVersion(root, "solc")}\n`);
  h.update(`oz@${packageVersion(root, "@openzeppelin/contracts")}\n`);
  h.update(`ozu@${packageVersion(root, "@openzeppelin/contracts-upgradeable")}\n`);
  h.update(JSON.stringify(SETTINGS));
  h.update(JSON.stringify(ARTIFACT_SOURCES));
  for (const s of sources) {
    h.update(`\n${s}\n`);
    h.update(fs.readFileSync(path.join(root, s)));
  }
  return h.digest("hex");
}

interface SolcOutput {
  errors?: { severity: "error" | "warning" | "info"; formattedMessage: string }[];
  sources?: Record<string, unknown>;
  contracts?: Record<
    string,
    Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>
  >;
}

interface Solc {
  version(): string;
  compile(input: string, callbacks: { import: (p: string) => { contents: string } | { error: string } }): string;
}

/** Compile when needed. Returns whether a compile happened. */
export async function buildContracts(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  const root = findRepoRoot();
  const outDir = artifactsDir(root);
  const sources = listSources(root);
  const hash = computeHash(root, sources);
  const hashFile = path.join(outDir, ".build-hash");
  const log = (m: string) => {
    if (!options.quiet) console.log(m);
  };

  if (
    !options.force &&
    fs.existsSync(hashFile) &&
    fs.readFileSync(hashFile, "utf8").trim() === hash &&
    ARTIFACT_NAMES.every((n) => fs.existsSync(path.join(outDir, `${n}.json`))) &&
    fs.existsSync(path.join(outDir, BUILD_INFO))
  ) {
    log("contracts: artifacts up to date (cached)");
    return false;
  }

  const started = Date.now();
  // Loaded lazily: instantiating the solc wasm costs time the cached path does not need.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require(require.resolve("solc", { paths: [root] })) as Solc;

  const input = {
    language: "Solidity",
    sources: Object.fromEntries(
      [...sources, ARTIFACT_SOURCES.ERC1967Proxy[0]].map((s) => [s, { content: readImport(root, s) }]),
    ),
    settings: SETTINGS,
  };

  const findImport = (p: string): { contents: string } | { error: string } => {
    try {
      return { contents: readImport(root, p) };
    } catch (e) {
      return { error: `import not found: ${p} (${(e as Error).message})` };
    }
  };

  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    throw new Error(`solc compilation failed:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  }
  for (const w of output.errors ?? []) {
    if (w.severity === "warning") log(w.formattedMessage);
  }

  fs.mkdirSync(outDir, { recursive: true });
  // Invalidate first so an interrupted build is never taken for a cached one.
  fs.rmSync(hashFile, { force: true });
  for (const name of ARTIFACT_NAMES) {
    const [unit, contractName] = ARTIFACT_SOURCES[name];
    const c = output.contracts?.[unit]?.[contractName];
    if (!c) throw new Error(`solc output has no ${unit}:${contractName}`);
    const artifact = {
      abi: c.abi,
      bytecode: `0x${c.evm.bytecode.object}`,
      deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
    };
    const file = path.join(outDir, `${name}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(artifact, null, 2) + "\n");
    fs.renameSync(tmp, file);
  }
  const buildInfo = {
    _format: "hh-sol-build-info-1",
    solcVersion: solc.version().replace(/\+.*$/, ""),
    solcLongVersion: solc.version(),
    // The compiler's input as it saw it: every source unit it read, imports included.
    input: {
      ...input,
      sources: Object.fromEntries(Object.keys(output.sources ?? {}).map((s) => [s, { content: readImport(root, s) }])),
    },
    output: { contracts: output.contracts, sources: output.sources },
  };
  fs.mkdirSync(path.dirname(path.join(outDir, BUILD_INFO)), { recursive: true });
  const buildInfoTmp = `${path.join(outDir, BUILD_INFO)}.${process.pid}.tmp`;
  fs.writeFileSync(buildInfoTmp, JSON.stringify(buildInfo));
  fs.renameSync(buildInfoTmp, path.join(outDir, BUILD_INFO));
  fs.writeFileSync(hashFile, hash + "\n");
  log(
    `contracts: compiled ${ARTIFACT_NAMES.length} artifacts with solc ${solc.version()} in ${Date.now() - started} ms`,
  );
  return true;
}

/** Read a source unit: repo-relative (contracts/...) or a package import (@openzeppelin/...). */
function readImport(root: string, importPath: string): string {
  const normalized = path.posix.normalize(importPath);
  if (normalized.startsWith("..") || path.isAbsolute(normalized)) {
    throw new Error(`refusing import outside the project: ${importPath}`);
  }
  if (normalized.startsWith("contracts/")) {
    return fs.readFileSync(path.join(root, normalized), "utf8");
  }
  // Package import: look in node_modules of the root and its ancestors (like Node does).
  let dir = root;
  for (;;) {
    const candidate = path.join(dir, "node_modules", normalized);
    if (fs.existsSync(candidate)) return fs.readFileSync(candidate, "utf8");
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`not found in any node_modules above ${root}`);
    dir = parent;
  }
}

if (require.main === module) {
  buildContracts({ force: process.argv.includes("--force") }).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
