import type * as pulumi from "@pulumi/pulumi";
import { relative } from "node:path";
import type { Hex } from "viem";
import {
  measurementCommandFailed,
  measurementCommands,
  measurementFromOutput,
  measurementInputDigests,
  type MeasuredByCommand,
  type MeasurementCommand,
} from "../src/measurements/resolve";

/** An output's value, or undefined while a preview cannot know it (its resource is about to be created or replaced). */
async function knownValue<T>(output: pulumi.Output<T>): Promise<T | undefined> {
  // Not in the SDK's typings, but it is what `apply` itself checks before running its callback.
  const internal = output as unknown as { isKnown: Promise<boolean>; promise(): Promise<T> };
  return (await internal.isKnown) ? internal.promise() : undefined;
}

/**
 * Runs one measurement command as a `local.Command` whose triggers are its input files' hashes: it runs
 * on the first `up` and again only when an input (or the command) changes, and its stdout stays in the
 * state. A preview cannot run a resource, so when the command is about to run again, the preview runs
 * it once through `local.run` to show the hash it will propose.
 */
async function measure(m: MeasurementCommand, root: string): Promise<Hex> {
  // Loaded only by a config with measurement commands: the package pulls in the whole Pulumi SDK.
  const command = await import("@pulumi/command");
  // Providers run in the program's directory (dist/): the command runs in the project directory, named relatively.
  const dir = relative(process.cwd(), root) || ".";
  const run = new command.local.Command(`measurement ${m.field}`, {
    create: m.command,
    dir,
    triggers: measurementInputDigests(m, root),
    logging: "stderr",
  });
  const recorded = await knownValue(run.stdout);
  if (recorded !== undefined) return measurementFromOutput(m, recorded);
  let printed: { stdout: string; stderr: string };
  try {
    printed = await command.local.run({ command: m.command, dir, logging: "stderr" });
  } catch (error) {
    // The provider reports a failed command as `exit status N: running "...":\n<stdout>\n<stderr>`.
    const [exit, ...output] = ((error as Error).message ?? String(error)).split("\n");
    throw measurementCommandFailed(m, exit.replace(/^.*?(exit status \d+|signal: \w+).*$/, "$1"), output.join("\n"));
  }
  return measurementFromOutput(m, printed.stdout, printed.stderr);
}

/** The hashes of the config's `{ command, inputs }` measurements, by command text. */
export async function measureByCommand(rawConfig: unknown, root: string): Promise<MeasuredByCommand> {
  const measured: MeasuredByCommand = {};
  for (const m of measurementCommands(rawConfig)) {
    if (!(m.command in measured)) measured[m.command] = await measure(m, root);
  }
  return measured;
}
