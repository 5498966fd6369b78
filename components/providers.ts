import { relative } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { repoRoot } from "../src/repo-root";
import type { DeploymentInputs, GovernedInputs, ProposalInputs } from "./inputs";

// These objects are serialized into the Pulumi state. They capture only the runtime's path inside the
// package and load the engine by module at run time, so no engine object graph (and no path of the
// checkout) is ever serialized. The provider process runs Pulumi's dynamic-provider script from the
// package's node_modules, so the package root is found from that script.
const RUNTIME = relative(repoRoot(), require.resolve("./provider-runtime"));
const runtime = () => require(`${require.main!.filename.split("/node_modules/")[0]}/${RUNTIME}`) as Runtime;

type Runtime = typeof import("./provider-runtime");

export const governedProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news: GovernedInputs) {
    return runtime().governedCheck(news);
  },
  async diff(_id, olds: GovernedInputs, news: GovernedInputs) {
    return runtime().governedDiff(olds, news);
  },
  async create(inputs: GovernedInputs) {
    return { id: `${inputs.stack}/${inputs.resource}`, outs: inputs };
  },
  async update(_id, _olds, news: GovernedInputs) {
    return { outs: news };
  },
  async read(id, props: GovernedInputs) {
    // The refreshed values become the inputs too, so refresh shows drift as a change.
    const live = await runtime().readGoverned(props);
    return { id, props: live, inputs: live };
  },
};

export const proposalProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, _olds, news: ProposalInputs) {
    return runtime().proposalDiff(news);
  },
  async create(inputs: ProposalInputs) {
    return { id: `${inputs.stack}/proposal`, outs: await runtime().applyProposal(inputs) };
  },
  async update(_id, _olds, news: ProposalInputs) {
    return { outs: await runtime().applyProposal(news) };
  },
};

export const deploymentProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id, olds: DeploymentInputs, news: DeploymentInputs) {
    // Other code is another contract at another address: a new deployment (the old one stays on chain).
    const replaces = olds.address !== news.address ? ["address"] : [];
    return { changes: replaces.length > 0 || olds.contract !== news.contract, replaces };
  },
  async create(inputs: DeploymentInputs) {
    return {
      id: `${inputs.stack}/${inputs.resource}/${inputs.address}`,
      outs: await runtime().deployImplementation(inputs),
    };
  },
  async update(_id, _olds, { __keys: _keys, ...recorded }: DeploymentInputs) {
    return { outs: recorded };
  },
};
