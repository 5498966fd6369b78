import {
  getContractVersion,
  getStorageLayout,
  getStorageUpgradeReport,
  solcInputOutputDecoder,
  validate,
  withValidationDefaults,
  type SolcOutput,
  type SrcDecoder,
  type StorageLayout,
  type ValidationRunData,
} from "@openzeppelin/upgrades-core";
import type { ContractArtifact } from "./artifact";

const layouts = new WeakMap<ContractArtifact, StorageLayout>();
/** One validation run per compiler output: a build-info holds many contracts. */
const runs = new WeakMap<SolcOutput, ValidationRunData>();

/** Without the compiler input (a bare standard-JSON output) locations name the source unit only. */
function sourceUnitDecoder(artifact: ContractArtifact): SrcDecoder {
  const units = Object.entries(artifact.output.sources ?? {});
  return ({ src }) => {
    const id = Number(src.split(":")[2]);
    return units.find(([, s]) => s.id === id)?.[0] ?? "unknown source";
  };
}

/**
 * The contract's storage layout as @openzeppelin/upgrades-core extracts it (the compiler's
 * storageLayout output plus the AST); the same format its manifests store.
 */
export function storageLayoutOf(artifact: ContractArtifact): StorageLayout {
  const cached = layouts.get(artifact);
  if (cached) return cached;
  const name = artifact.name;
  const unit = name.slice(0, name.lastIndexOf(":"));
  const compiled = (artifact.output.contracts[unit] as Record<string, { storageLayout?: unknown }>)[
    name.slice(unit.length + 1)
  ];
  if (!compiled.storageLayout || !artifact.output.sources?.[unit]?.ast) {
    throw new Error(
      `${artifact.file} has no storageLayout or AST for ${name}: compile with outputSelection storageLayout and ast (Foundry: extra_output = ["storageLayout"], build_info = true)`,
    );
  }
  let run = runs.get(artifact.output);
  if (!run) {
    const decodeSrc = artifact.input
      ? solcInputOutputDecoder(artifact.input, artifact.output)
      : sourceUnitDecoder(artifact);
    // validate() prints notes about initializer checks (not layouts) to stderr, which would clutter
    // every preview; silenceWarnings() would announce itself there instead, so stderr is muted here.
    const printError = console.error;
    console.error = () => {};
    try {
      run = validate(artifact.output, decodeSrc, artifact.solcVersion, artifact.input);
    } finally {
      console.error = printError;
    }
    runs.set(artifact.output, run);
  }
  const layout = getStorageLayout([run], getContractVersion(run, name));
  layouts.set(artifact, layout);
  return layout;
}

/** The library's own verdict and report (its text, uncoloured) on upgrading from `current` to `next`. */
export function layoutUpgradeReport(current: StorageLayout, next: StorageLayout): { pass: boolean; explain: string } {
  const report = getStorageUpgradeReport(current, next, withValidationDefaults({}));
  return { pass: report.pass, explain: report.explain(false) };
}
