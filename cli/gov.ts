#!/usr/bin/env node
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { renderError } from "../src/errors";
import { approveProposalOnChain } from "./commands/approve";
import { parseDuration } from "../src/config/duration";
import { auditStack } from "./commands/audit";
import { DEFAULT_LIMITS, type MonitoringLimits } from "./monitoring";
import { proposeCancellation } from "./commands/cancel";
import { executeProposalStep } from "./commands/execute";
import { deploymentLocation, importStack } from "./commands/import";
import { showProposal, showTypedData } from "./commands/show";
import { addSignatureToFile, readSignatureArgument, signProposalFile } from "./commands/sign";
import { stackStatus } from "./commands/status";
import { stackWallet } from "../src/reconcile/wallet";
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
  audit --check [--max-queued <n>] [--max-pending-age <duration>] [--min-participation <percent>]
        [--participation-window <n>]
                          monitoring: one line per finding (unexplained change, foreign
                          scheduled operation, proposal pending > 24h, signer participation
                          < 80%, > 3 queued operations); exits 1 when there is any
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

/** The --check thresholds: the defaults unless a flag names another value. */
function monitoringLimits(values: Record<string, unknown>): MonitoringLimits {
  const integer = (name: string, fallback: number, min: number) => {
    const text = values[name];
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(String(text)) || Number(text) < min)
      throw new Error(`--${name}: give a whole number of at least ${min}`);
    return Number(text);
  };
  const age = values["max-pending-age"];
  const maxPendingAge = age === undefined ? DEFAULT_LIMITS.maxPendingAge : parseDuration(String(age));
  if (maxPendingAge === undefined) throw new Error('--max-pending-age: give a duration like "24h" or "2d"');
  const percent = integer("min-participation", DEFAULT_LIMITS.minParticipation * 100, 0);
  if (percent > 100) throw new Error("--min-participation: give a percentage from 0 to 100");
  return {
    maxQueued: integer("max-queued", DEFAULT_LIMITS.maxQueued, 0),
    maxPendingAge,
    minParticipation: percent / 100,
    participationWindow: integer("participation-window", DEFAULT_LIMITS.participationWindow, 1),
  };
}

/** A command's output, and for checks an exit code of their own. */
type CommandResult = string | { text: string; exitCode: number };

const commands: Record<string, (args: string[]) => Promise<CommandResult>> = {
  status: async (args) => stackStatus(await loadStack(parse(args, {}, []).location)),
  show: async (args) => {
    const { location, positionals, values } = parse(args, { "typed-data": { type: "boolean" } }, ["id"]);
    const [stack, proposal] = await Promise.all([loadStack(location), loadProposal(location, positionals[0])]);
    return values["typed-data"] === true ? showTypedData(stack, proposal) : showProposal(stack, proposal);
  },
  sign: async (args) => {
    const { location, positionals, keyEnv, values } = parse(args, { signature: { type: "string" } }, ["id"]);
    const [stack, proposal] = await Promise.all([loadStack(location), loadProposal(location, positionals[0])]);
    if (typeof values.signature === "string")
      return addSignatureToFile(stack, proposal, readSignatureArgument(values.signature));
    return signProposalFile(stack, proposal, await readPrivateKey(keyEnv));
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
    const { location, values } = parse(
      args,
      {
        json: { type: "boolean" },
        "from-block": { type: "string" },
        check: { type: "boolean" },
        "max-queued": { type: "string" },
        "max-pending-age": { type: "string" },
        "min-participation": { type: "string" },
        "participation-window": { type: "string" },
      },
      [],
    );
    const fromBlock = values["from-block"];
    if (fromBlock !== undefined && !/^\d+$/.test(String(fromBlock)))
      throw new Error("--from-block: give a block number");
    const check = values.check === true ? monitoringLimits(values) : undefined;
    return auditStack(await loadStack(location), {
      json: values.json === true,
      fromBlock: fromBlock === undefined ? undefined : BigInt(String(fromBlock)),
      check,
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
  const result = await run(args);
  process.stdout.write(`${typeof result === "string" ? result : result.text}\n`);
  if (typeof result !== "string") process.exitCode = result.exitCode;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`gov: ${errorLine(error)}\n`);
  process.exitCode = 1;
});
