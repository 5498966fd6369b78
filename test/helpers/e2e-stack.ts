import assert from "node:assert/strict";
import type { StackSecrets } from "../../devnet/pulumi-stack";
import type { StackConfigInput } from "../../src/config/schema";
import { startTestDevnet, type TestDevnet } from "./devnet";
import { PulumiProject } from "./pulumi-project";

/** Where most e2e stories start: a safe+timelock devnet and a Pulumi stack listing what it holds. */
export interface E2eStack {
  devnet: TestDevnet;
  project: PulumiProject;
  config: StackConfigInput;
}

export async function startE2eStack(secrets?: StackSecrets): Promise<E2eStack> {
  const devnet = await startTestDevnet("safe+timelock");
  const project = new PulumiProject();
  const config = devnet.config();
  await project.configure(config, secrets);
  return { devnet, project, config };
}

/** `pulumi up` on a chain that holds what the stack lists: it succeeds and proposes nothing. */
export async function adoptChain(project: PulumiProject): Promise<void> {
  const up = await project.up();
  assert.equal(up.code, 0, up.output);
  assert.deepEqual(project.proposalFiles(), [], "adopting a chain that matches the config proposes nothing");
}
