import * as pulumi from "@pulumi/pulumi";
import type { GovernedInputs, GovernedKind, ProposalInputs } from "./inputs";
import { governedProvider, proposalProvider } from "./providers";

type Args<T> = { [K in keyof T]: pulumi.Input<T[K]> };

const MODULE = "governance";

/** One dynamic resource type per governed thing; they differ only in their type token. */
function governedResource(kind: GovernedKind) {
  return class extends pulumi.dynamic.Resource {
    declare readonly declared: pulumi.Output<Record<string, unknown>>;
    declare readonly pending: pulumi.Output<string[]>;
    constructor(name: string, args: Args<Omit<GovernedInputs, "kind">>, opts?: pulumi.CustomResourceOptions) {
      super(governedProvider, name, { ...args, kind }, opts, MODULE, kind);
    }
  };
}

/** Safe signers (with their organisation) and threshold. */
export const GovernanceSafe = governedResource("GovernanceSafe");
/** Timelock delay and expiration window, and the Safe's proposer/canceller roles. */
export const Timelock = governedResource("Timelock");
/** A UUPS proxy's implementation and owner. */
export const ContractProxy = governedResource("ContractProxy");
/** DstackKms: OS images, KMS aggregated MRs and devices, KMS settings. */
export const KmsPolicy = governedResource("KmsPolicy");
/** One DstackApp: compose hashes, devices, allow-any-device, require-up-to-date-TCB. */
export const AppPolicy = governedResource("AppPolicy");

/** The calls of all governed resources of one run, as ONE proposal (or direct transactions). */
export class GovernanceProposal extends pulumi.dynamic.Resource {
  declare readonly proposalId: pulumi.Output<string | undefined>;
  declare readonly safeTxHash: pulumi.Output<string | undefined>;
  declare readonly nextSteps: pulumi.Output<string | undefined>;
  declare readonly executed: pulumi.Output<string[]>;
  constructor(name: string, args: Args<ProposalInputs>, opts?: pulumi.CustomResourceOptions) {
    super(
      proposalProvider,
      name,
      { ...args, proposalId: undefined, safeTxHash: undefined, nextSteps: undefined, executed: undefined },
      opts,
      MODULE,
      "GovernanceProposal",
    );
  }
}
