#!/usr/bin/env node
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { renderError } from "../src/errors";
import { approveProposalOnChain } from "./commands/approve";
import { auditStack } from "./commands/audit";
import { proposeCancellation } from "./commands/cancel";
import { executeProposalStep } from "./commands/execute";
import { deploymentLocation, importStack } from "./commands/import";
import { showProposal, showTypedData } from "./commands/show";
import { addSignatureToFile, readSignatureArgument, signProposalFile } from "./commands/sign";
import { stackStatus } from "./commands/status";
import { stackWallet } from "../src/reconcile/reconcile";
import { readPrivateKey, redactKeys } from "./keys";
import { loadProposal, loadStack, type StackLocation } from "./stack";

const USAGE = `usage: gov <command> --stack <name> [--root <dir>] [options]

  status                  proposals with their on-chain status, and the pending plan
  show <id> [--typed-data]
                          the signer packet of a proposal (after verifying the file), or
                          the EIP-712 JSON that hardware wallets and cast wallet sign take
  sign <id>               add your signature to the proposal file                  [key]
  sign <id> --signature <0x…|file>
                          add a signature made elsewhere (Ledger, Safe{Wallet}, cast); it must
                          recover to a current owner for this proposal's Safe tx hash
  approve <id>            approve the proposal's Safe tx hash on chain              [key]
  execute <id>            execute the Safe transaction, or the timelock batch once ready [key]
  cancel <id>             write a proposal that cancels the proposal's timelock operation
  audit [--json] [--from-block <n>]
                          governance events since the stack's start block; changes no
                          proposal explains are flagged UNEXPLAINED
  import --rpc <url> --chain-id <n> --kms <proxy> [--app <name>=<proxy> ...]
         --mode safe+timelock --safe <addr> --timelock <addr> | --mode safe --safe <addr> | --mode direct --admin <addr>
         --tier production|non-production [--start-block <n>] [--expiration <d>] [--force]
                          write Pulumi.<stack>.yaml declaring an existing deployment as it is
                          (--expiration: the window this tool enforces on a stock timelock)

  --root <dir>            where Pulumi.<stack>.yaml and proposals/<stack>/ are (default: .)
  --key-env <name>        the environment variable holding the key (default: GOV_PRIVATE_KEY);
                          when it is unset and stdin is a terminal, the key is prompted for
Set GOV_DEBUG=1 for stack traces.
`;

const globalOptions = {
  stack: { type: "string" },
  root: { type: "string" },
  "key-env": { type: "string" },
} as const;

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The command's own options plus the global ones; anything else is an error, not silently ignored. */
function parse<T extends Options>(args: string[], options: T, positionals: string[]) {
  const parsed = parseArgs({ args, options: { ...globalOptions, ...options }, allowPositionals: true, strict: true });
  if (parsed.positionals.length !== positionals.length) {
    throw new Error(
      positionals.length
        ? `give ${positionals.map((p) => `<${p}>`).join(" ")}`
        : `unexpected argument "${parsed.positionals[0]}"`,
    );
  }
  const values = parsed.values as { stack?: string; root?: string; "key-env"?: string };
  if (!values.stack) throw new Error("--stack: name the stack (its config is Pulumi.<stack>.yaml)");
  // The name becomes part of file paths: Pulumi's own stack-name characters only.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(values.stack))
    throw new Error(`--stack: "${values.stack}" is not a stack name (letters, digits, "_", ".", "-")`);
  const location: StackLocation = { name: values.stack, root: resolve(values.root ?? ".") };
  return { values: parsed.values, location, keyEnv: values["key-env"], positionals: parsed.positionals };
}

const commands: Record<string, (args: string[]) => Promise<string>> = {
  status: async (args) => stackStatus(await loadStack(parse(args, {}, []).location)),
  show: async (args) => {
    const { location, positionals, values } = parse(args, { "typed-data": { type: "boolean" } }, ["id"]);
    const proposal = await loadProposal(location, positionals[0]);
    return values["typed-data"] === true ? showTypedData(proposal) : showProposal(proposal);
  },
  sign: async (args) => {
    const { location, positionals, keyEnv, values } = parse(args, { signature: { type: "string" } }, ["id"]);
    const proposal = await loadProposal(location, positionals[0]);
    if (typeof values.signature === "string")
      return addSignatureToFile(await loadStack(location), proposal, readSignatureArgument(values.signature));
    return signProposalFile(location.root, proposal, await readPrivateKey(keyEnv));
  },
  approve: async (args) => {
    const { location, positionals, keyEnv } = parse(args, {}, ["id"]);
    const [stack, proposal] = await Promise.all([loadStack(location), loadProposal(location, positionals[0])]);
    return approveProposalOnChain(stack, stackWallet(stack, await readPrivateKey(keyEnv)), proposal);
  },
  execute: async (args) => {
    const { location, positionals, keyEnv } = parse(args, {}, ["id"]);
    const [stack, proposal] = await Promise.all([loadStack(location), loadProposal(location, positionals[0])]);
    return executeProposalStep(stack, stackWallet(stack, await readPrivateKey(keyEnv)), proposal);
  },
  cancel: async (args) => {
    const { location, positionals } = parse(args, {}, ["id"]);
    const [stack, proposal] = await Promise.all([loadStack(location), loadProposal(location, positionals[0])]);
    return proposeCancellation(stack, proposal);
  },
  audit: async (args) => {
    const { location, values } = parse(args, { json: { type: "boolean" }, "from-block": { type: "string" } }, []);
    const fromBlock = values["from-block"];
    if (fromBlock !== undefined && !/^\d+$/.test(String(fromBlock)))
      throw new Error("--from-block: give a block number");
    return auditStack(await loadStack(location), {
      json: values.json === true,
      fromBlock: fromBlock === undefined ? undefined : BigInt(String(fromBlock)),
    });
  },
  import: async (args) => {
    const { location, values } = parse(
      args,
      {
        rpc: { type: "string" },
        "chain-id": { type: "string" },
        kms: { type: "string" },
        app: { type: "string", multiple: true },
        mode: { type: "string" },
        safe: { type: "string" },
        timelock: { type: "string" },
        admin: { type: "string" },
        tier: { type: "string" },
        "start-block": { type: "string" },
        expiration: { type: "string" },
        force: { type: "boolean" },
      },
      [],
    );
    return importStack(location, deploymentLocation(values), values.force === true);
  },
};

/** One line a person can act on (the shared renderer), never a key. */
function errorLine(error: unknown): string {
  return redactKeys(
    renderError(error, { oneLine: process.env.GOV_DEBUG !== "1", debug: process.env.GOV_DEBUG === "1" }),
  );
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE);
    return;
  }
  const run = command === undefined ? undefined : commands[command];
  if (!run)
    throw new Error(
      command === undefined
        ? "give a command (gov --help lists them)"
        : `unknown command "${command}" (gov --help lists them)`,
    );
  process.stdout.write(`${await run(args)}\n`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`gov: ${errorLine(error)}\n`);
  process.exitCode = 1;
});
