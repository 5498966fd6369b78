import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { isHex, type Hex } from "viem";

const DEFAULT_KEY_ENV = "GOV_PRIVATE_KEY";

// Every key this process has read, so that no message can carry one out (see redactKeys).
const keysRead = new Set<string>();

/** "0x" + 64 hex digits; a bare 64-digit form is accepted because that is how many wallets export it. */
function normalizeKey(text: string, source: string): Hex {
  const trimmed = text.trim();
  const key = (trimmed.startsWith("0x") ? trimmed : `0x${trimmed}`).toLowerCase();
  // The message names where the key came from, never any part of it.
  if (!isHex(key) || key.length !== 66)
    throw new Error(`${source} is not a private key: expected 32 bytes as 64 hex digits`);
  keysRead.add(key.slice(2));
  keysRead.add(trimmed.replace(/^0x/i, ""));
  return key as Hex;
}

/** Reads a line from the terminal without echoing it: the prompt goes to stderr, keystrokes nowhere. */
function promptHidden(prompt: string): Promise<string> {
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const reader = createInterface({ input: process.stdin, output: silent, terminal: true });
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    reader.question("", (answer) => {
      process.stderr.write("\n");
      reader.close();
      resolve(answer);
    });
    reader.on("SIGINT", () => {
      process.stderr.write("\n");
      reader.close();
      reject(new Error("cancelled: no key entered"));
    });
  });
}

/**
 * The signing key: from the environment variable (GOV_PRIVATE_KEY unless another is named), else
 * typed at a terminal prompt. Never from an argument: arguments end up in shell history and ps.
 */
export async function readPrivateKey(envName: string = DEFAULT_KEY_ENV): Promise<Hex> {
  const fromEnv = process.env[envName];
  if (fromEnv) return normalizeKey(fromEnv, envName);
  if (!process.stdin.isTTY) throw new Error(`no key: set ${envName} (or name another variable with --key-env)`);
  return normalizeKey(await promptHidden(`Private key (${envName} is not set): `), "the entered key");
}

/** Replaces any key read by this process, should one ever reach an error text. */
export function redactKeys(text: string): string {
  let redacted = text;
  for (const key of keysRead) redacted = redacted.split(key).join("<redacted key>");
  return redacted;
}
