import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { runPulumi, type PulumiResult } from "../../devnet/pulumi-cli";
import { linkProjectDir, writeStack, type StackSecrets } from "../../devnet/pulumi-stack";
import type { StackConfigInput } from "../../src/config/schema";

/** A throwaway Pulumi project running the repo's compiled program against one devnet stack. */
export class PulumiProject {
  constructor(
    readonly stack = "devnet",
    readonly dir = linkProjectDir(mkdtempSync(join(tmpdir(), "gov-pulumi-"))),
  ) {}

  configure(config: StackConfigInput, secrets?: StackSecrets) {
    return writeStack(this.dir, this.stack, config, secrets);
  }

  run(...args: string[]): Promise<PulumiResult> {
    return runPulumi(this.dir, [...args, "--stack", this.stack]);
  }

  preview() {
    return this.run("preview", "--diff");
  }

  up() {
    return this.run("up", "--yes", "--skip-preview");
  }

  proposalFiles(): string[] {
    try {
      return readdirSync(join(this.dir, "proposals", this.stack)).sort();
    } catch {
      return [];
    }
  }
}

/** What preview printed, checked for "nothing would change". */
export function isNoChange(result: PulumiResult): boolean {
  return (
    result.code === 0 && !/to (create|update|delete|replace)/.test(result.stdout) && /unchanged/.test(result.stdout)
  );
}

export type { Address, Hex };
