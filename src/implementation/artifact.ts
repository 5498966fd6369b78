import { readFileSync, statSync } from "node:fs";
import type { Abi, Hex } from "viem";
import type { SolcInput, SolcOutput } from "@openzeppelin/upgrades-core";

/** Byte ranges of the runtime code the constructor fills in (solc's immutableReferences). */
export type ImmutableReferences = Record<string, { start: number; length: number }[]>;

/** One contract of a compiler run: what deploys it, what it runs, and the compiler run around it (for its storage layout). */
export interface ContractArtifact {
  file: string;
  /** Fully qualified: "<source unit>:<contract name>". */
  name: string;
  abi: Abi;
  /** Creation code (initcode), constructor arguments not included. */
  bytecode: Hex;
  deployedBytecode: Hex;
  immutableReferences: ImmutableReferences;
  solcVersion?: string;
  input?: SolcInput;
  output: SolcOutput;
}

interface SolcContractOutput {
  abi?: Abi;
  metadata?: string;
  evm?: {
    bytecode?: { object?: string; linkReferences?: Record<string, unknown> };
    deployedBytecode?: { object?: string; immutableReferences?: ImmutableReferences };
  };
}

export class ArtifactError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${field}: ${problem}; fix: ${fix}`);
    this.name = "ArtifactError";
  }
}

const parsed = new Map<
  string,
  { mtimeMs: number; run: { input?: SolcInput; output: SolcOutput; solcVersion?: string } }
>();

/**
 * A solc standard-JSON output ({ contracts, sources }) or a build-info file ({ input, output,
 * solcVersion }: Hardhat's, or Foundry's with `build_info = true`). Parsed once per file version.
 */
function readCompilerRun(file: string, field: string): { input?: SolcInput; output: SolcOutput; solcVersion?: string } {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    throw new ArtifactError(field, `cannot read ${file}`, "give a path relative to the project directory");
  }
  const cached = parsed.get(file);
  if (cached?.mtimeMs === mtimeMs) return cached.run;
  let json: { input?: SolcInput; output?: SolcOutput; solcVersion?: string; contracts?: unknown; sources?: unknown };
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ArtifactError(
      field,
      `${file} is not JSON (${(error as Error).message})`,
      "give a solc standard-JSON output or a Hardhat/Foundry build-info file",
    );
  }
  const run = json.output?.contracts
    ? { input: json.input, output: json.output, solcVersion: json.solcVersion }
    : json.contracts
      ? { output: json as unknown as SolcOutput }
      : undefined;
  if (!run)
    throw new ArtifactError(
      field,
      `${file} has neither "contracts" (solc standard-JSON output) nor "output.contracts" (build-info)`,
      "give a solc standard-JSON output or a Hardhat/Foundry build-info file",
    );
  parsed.set(file, { mtimeMs, run });
  return run;
}

/** The compiler version from a contract's metadata, when the file does not say it at the top. */
function metadataVersion(contract: SolcContractOutput): string | undefined {
  try {
    return contract.metadata
      ? (JSON.parse(contract.metadata) as { compiler?: { version?: string } }).compiler?.version?.replace(/\+.*$/, "")
      : undefined;
  } catch {
    return undefined;
  }
}

/** `contract` is "Name" or "<source unit>:Name"; a bare name must be unique in the file. */
export function loadContractArtifact(file: string, contract: string, field: string): ContractArtifact {
  const run = readCompilerRun(file, field);
  const contracts = run.output.contracts as Record<string, Record<string, SolcContractOutput>>;
  const all = Object.entries(contracts).flatMap(([unit, byName]) =>
    Object.keys(byName).map((name) => `${unit}:${name}`),
  );
  const matches = contract.includes(":")
    ? all.filter((n) => n === contract)
    : all.filter((n) => n.endsWith(`:${contract}`));
  if (matches.length !== 1) {
    const wanted = contract.split(":").pop()!.toLowerCase();
    const prefix = wanted.slice(0, Math.max(3, wanted.length - 2));
    const candidates = all.filter((n) => n.split(":").pop()!.toLowerCase().startsWith(prefix)).slice(0, 5);
    throw new ArtifactError(
      `${field}.contract`,
      matches.length
        ? `${contract} is ambiguous in ${file}: ${matches.join(", ")}`
        : `${file} has no contract ${contract}${candidates.length ? ` (similar: ${candidates.join(", ")})` : ""}`,
      matches.length ? "give it as <source unit>:<name>" : "name a contract the file compiles",
    );
  }
  const name = matches[0];
  const unit = name.slice(0, name.lastIndexOf(":"));
  const c = contracts[unit][name.slice(unit.length + 1)];
  const bytecode = c.evm?.bytecode?.object;
  const deployed = c.evm?.deployedBytecode?.object;
  if (!c.abi || !bytecode || !deployed) {
    throw new ArtifactError(
      field,
      `${name} in ${file} has no abi, evm.bytecode or evm.deployedBytecode (an interface or abstract contract, or not selected in outputSelection)`,
      "compile with abi, evm.bytecode and evm.deployedBytecode output",
    );
  }
  if (bytecode.includes("__$") || Object.keys(c.evm?.bytecode?.linkReferences ?? {}).length) {
    throw new ArtifactError(
      field,
      `${name} needs external libraries linked`,
      "deploy a contract without external library links (internal libraries only)",
    );
  }
  const hex = (code: string) => (code.startsWith("0x") ? code : `0x${code}`).toLowerCase() as Hex;
  return {
    file,
    name,
    abi: c.abi,
    bytecode: hex(bytecode),
    deployedBytecode: hex(deployed),
    immutableReferences: c.evm?.deployedBytecode?.immutableReferences ?? {},
    solcVersion: run.solcVersion ?? metadataVersion(c),
    input: run.input,
    output: run.output,
  };
}
