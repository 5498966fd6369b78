import type * as pulumi from "@pulumi/pulumi";
import type { GovernedInputs, ProposalInputs } from "./inputs";

// These objects are serialized into the Pulumi state. They capture only a file path and load
// the engine by module at run time, so no engine object graph is ever serialized.
const RUNTIME = require.resolve("./provider-runtime");

type Runtime = typeof import("./provider-runtime");

export const governedProvider: pulumi.dynamic.ResourceProvider = {
  async configure(req) {
    (require(RUNTIME) as Runtime).configure(req.config);
  },
  async check(_olds, news: GovernedInputs) {
    return (require(RUNTIME) as Runtime).governedCheck(news);
  },
  async diff(_id, olds: GovernedInputs, news: GovernedInputs) {
    return (require(RUNTIME) as Runtime).governedDiff(olds, news);
  },
  async create(inputs: GovernedInputs) {
    return { id: `${inputs.stack}/${inputs.resource}`, outs: inputs };
  },
  async update(_id, _olds, news: GovernedInputs) {
    return { outs: news };
  },
  async read(id, props: GovernedInputs) {
    // The refreshed values become the inputs too, so refresh shows drift as a change.
    const live = await (require(RUNTIME) as Runtime).readGoverned(props);
    return { id, props: live, inputs: live };
  },
};

export const proposalProvider: pulumi.dynamic.ResourceProvider = {
  async configure(req) {
    (require(RUNTIME) as Runtime).configure(req.config);
  },
  async diff(_id, _olds, news: ProposalInputs) {
    return (require(RUNTIME) as Runtime).proposalDiff(news);
  },
  async create(inputs: ProposalInputs) {
    return { id: `${inputs.stack}/proposal`, outs: await (require(RUNTIME) as Runtime).applyProposal(inputs) };
  },
  async update(_id, _olds, news: ProposalInputs) {
    return { outs: await (require(RUNTIME) as Runtime).applyProposal(news) };
  },
};
