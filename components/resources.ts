import * as pulumi from "@pulumi/pulumi";
import type { GovernedInputs, ProposalInputs } from "./inputs";
import { governedProvider, proposalProvider } from "./providers";

type Args<T> = { [K in keyof T]: pulumi.Input<T[K]> };

const MODULE = "governance";

class GovernedResource extends pulumi.dynamic.Resource {
  declare readonly declared: pulumi.Output<Record<string, unknown>>;
  declare readonly pending: pulumi.Output<string[]>;
  constructor(type: string, name: string, args: Args<GovernedInputs>, opts?: pulumi.CustomResourceOptions) {
    super(governedProvider, name, args, opts, MODULE, type);
  }
}

/** Safe signers (with their organisation) and threshold. */
export class GovernanceSafe extends GovernedResource {
  constructor(name: string, args: Args<GovernedInputs>, opts?: pulumi.CustomResourceOptions) {
    super("GovernanceSafe", name, args, opts);
  }
}

/** Timelock delay and expiration window, and the Safe's proposer/canceller roles. */
export class Timelock extends GovernedResource {
  constructor(name: string, args: Args<GovernedInputs>, opts?: pulumi.CustomResourceOptions) {
    super("Timelock", name, args, opts);
  }
}

/** A UUPS proxy's implementation and owner. */
export class ContractProxy extends GovernedResource {
  constructor(name: string, args: Args<GovernedInputs>, opts?: pulumi.CustomResourceOptions) {
    super("ContractProxy", name, args, opts);
  }
}

/** DstackKms: OS images, KMS aggregated MRs and devices, KMS settings. */
export class KmsPolicy extends GovernedResource {
  constructor(name: string, args: Args<GovernedInputs>, opts?: pulumi.CustomResourceOptions) {
    super("KmsPolicy", name, args, opts);
  }
}

/** One DstackApp: compose hashes, devices, allow-any-device. */
export class AppPolicy extends GovernedResource {
  constructor(name: string, args: Args<GovernedInputs>, opts?: pulumi.CustomResourceOptions) {
    super("AppPolicy", name, args, opts);
  }
}

/** The calls of all governed resources of one run, as ONE proposal (or direct transactions). */
export class GovernanceProposal extends pulumi.dynamic.Resource {
  declare readonly proposalId: pulumi.Output<string | undefined>;
  declare readonly safeTxHash: pulumi.Output<string | undefined>;
  declare readonly executed: pulumi.Output<string[]>;
  constructor(name: string, args: Args<ProposalInputs>, opts?: pulumi.CustomResourceOptions) {
    super(proposalProvider, name, { ...args, proposalId: undefined, safeTxHash: undefined, executed: undefined }, opts, MODULE, "GovernanceProposal");
  }
}
