import * as pulumi from "@pulumi/pulumi";
import type { DeploymentInputs, GovernedInputs, GovernedKind, ProposalInputs, ProposalSummary } from "./inputs";
import { deploymentProvider, governedProvider, proposalProvider } from "./providers";

type Args<T> = { [K in keyof T]: pulumi.Input<T[K]> };

const MODULE = "governance";

/**
 * The provider every resource of the stack runs on. Pulumi gives the default dynamic provider the whole
 * stack config as inputs and records them before any resource runs, even when the `up` then fails;
 * this one has none, so what a run records is only what its resources did (they carry the config).
 */
export class GovernanceProvider extends pulumi.ProviderResource {
  constructor(name: string, opts?: pulumi.ResourceOptions) {
    super("pulumi-nodejs", name, {}, opts);
  }
}

/** One dynamic resource type per governed thing; they differ only in their type token. */
function governedResource(kind: GovernedKind) {
  return class extends pulumi.dynamic.Resource {
    declare readonly declared: pulumi.Output<Record<string, unknown>>;
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
  /** In-flight proposals as the last `pulumi up` left them, and what to do next: always set, so preview never shows them unknown. */
  declare readonly proposals: pulumi.Output<ProposalSummary[]>;
  declare readonly nextSteps: pulumi.Output<string>;
  constructor(name: string, args: Args<ProposalInputs>, opts?: pulumi.CustomResourceOptions) {
    super(
      proposalProvider,
      name,
      { ...args, proposals: undefined, nextSteps: undefined },
      opts,
      MODULE,
      "GovernanceProposal",
    );
  }
}

/** A proxy implementation deployed from its artifact through the deterministic deployment proxy (needs no governance: only the deployer key). */
export class ImplementationDeployment extends pulumi.dynamic.Resource {
  declare readonly address: pulumi.Output<string>;
  declare readonly transaction: pulumi.Output<string | undefined>;
  constructor(name: string, args: Args<DeploymentInputs>, opts?: pulumi.CustomResourceOptions) {
    super(deploymentProvider, name, { ...args, transaction: undefined }, opts, MODULE, "ImplementationDeployment");
  }
}
