import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../repo-root";

export interface RunningAnvil {
  rpcUrl: string;
  chainId: number;
  pid: number;
  stop(): Promise<void>;
}

export interface AnvilOptions {
  chainId?: number;
  /** Passed as --fork-url: the convergence proof forks a live chain. */
  forkUrl?: string;
  forkBlockNumber?: bigint;
  /** Per-request timeout and retry count for the forked RPC (anvil --timeout / --retries). */
  forkTimeoutMs?: number;
  forkRetries?: number;
  /** The forked chain's id, known already: anvil then does not ask the RPC for it (--fork-chain-id). */
  forkChainId?: number;
  /** Dev accounts to fund (--accounts, default 10); a fork loads each from the RPC, so 0 when none is used. */
  accounts?: number;
  /** Mine only when asked (evm_mine), so a sent transaction's receipt is local once its block is mined. */
  noMining?: boolean;
  /** Start the chain at a fixed time so devnet deployments are reproducible. */
  timestamp?: number;
  /** The first block's number (anvil --number): an old chain without mining its empty blocks. */
  number?: bigint;
}

function anvilBinary(): string {
  const bin = join(repoRoot(), "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");
  if (!existsSync(bin)) throw new Error(`anvil not found at ${bin}: run npm ci`);
  return bin;
}

/** Starts anvil on 127.0.0.1 with a free port and resolves once it listens. */
export async function startAnvil(options: AnvilOptions = {}): Promise<RunningAnvil> {
  const args = ["--host", "127.0.0.1", "--port", "0", "--chain-id", String(options.chainId ?? 31337)];
  if (options.forkUrl) args.push("--fork-url", options.forkUrl);
  if (options.forkBlockNumber !== undefined) args.push("--fork-block-number", String(options.forkBlockNumber));
  if (options.forkTimeoutMs !== undefined) args.push("--timeout", String(options.forkTimeoutMs));
  if (options.forkRetries !== undefined) args.push("--retries", String(options.forkRetries));
  if (options.forkChainId !== undefined) args.push("--fork-chain-id", String(options.forkChainId));
  if (options.accounts !== undefined) args.push("--accounts", String(options.accounts));
  if (options.noMining) args.push("--no-mining");
  if (options.timestamp !== undefined) args.push("--timestamp", String(options.timestamp));
  if (options.number !== undefined) args.push("--number", String(options.number));
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  const port = await listeningPort(child);
  let exited = child.exitCode !== null;
  child.once("exit", () => (exited = true));
  return {
    rpcUrl: `http://127.0.0.1:${port}`,
    chainId: options.chainId ?? 31337,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => fail(new Error(`anvil did not start within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stdout!.resume(); // keep draining so anvil never blocks on a full pipe
        resolve(Number(match[1]));
      }
    };
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => fail(new Error(`anvil exited with ${code}:\n${output}`)));
  });
}
