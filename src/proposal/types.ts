import type { Address, Hex } from "viem";
import type { SafeVersion } from "../chain/safe-deployments";

/** A proposal as written to proposals/<stack>/<id>.json. All integers are decimal strings. */
export interface ProposalFile {
  format: "dstack-governance-proposal/1";
  id: string;
  stack: string;
  chainId: number;
  route: "safe" | "safe+timelock";
  /** The block the plan was read at, and its time: the proposal is exactly reproducible from it. */
  plannedAtBlock: string;
  plannedAt: string;
  /** Removal-only proposals (revocations) are emergencies; they still wait out the timelock. */
  emergency: boolean;
  /** version: the Safe's VERSION() when planned (absent in older files = 1.4.1). */
  safe: { address: Address; version?: SafeVersion; nonce: string; threshold: number; owners: Address[] };
  safeTx: SafeTxData;
  safeTxHash: Hex;
  eip712: { domainHash: Hex; messageHash: Hex };
  timelock?: TimelockOperation;
  calls: DecodedCall[];
  signatures: FileSignature[];
  /** Recommendation rules this stack overrides that the proposal needs, each with its written reason. */
  overrides?: { rule: string; reason: string }[];
  /** Set on a proposal whose Safe transaction runs another proposal's ready timelock batch (the Safe is the executor). */
  executes?: ExecutedOperation;
  /** Set when the proposal was run to completion on a fork of the chain before it was written. */
  convergence?: ConvergenceProof;
  /** Signer organisations from the stack config, by owner address (organisations are not on chain). */
  organisations?: Record<string, string>;
  /** What the chain holds once every call ran: the resulting sets, owners, threshold and delay. */
  expectedState?: ExpectedState;
}

/** The governed state after a proposal, as the packet shows it; durations in seconds, decimal. */
export interface ExpectedState {
  safe?: { owners: Address[]; threshold: number };
  timelock?: { delay: string; expiration: string };
  osImages: Hex[];
  /** By app name. */
  composeHashes: Record<string, Hex[]>;
  /** By resource ("kms", "app:<name>"): the owner, or the pending owner of a two-step transfer. */
  owners: Record<string, Address>;
  /** By resource: the implementation the proxy points at. */
  implementations: Record<string, Address>;
}

/** A scheduled operation this proposal cancels, and whether its calls are scheduled again. */
export interface CancelledOperation {
  operationId: Hex;
  /** The local proposal that scheduled it, if its file is here. */
  proposal?: string;
  calls: string[];
  /** True when every one of its calls is in this proposal's batch again. */
  rescheduled: boolean;
}

/** A fork ran the proposal through the Safe and the timelock; re-planning afterwards found nothing left. */
export interface ConvergenceProof {
  forkedAtBlock: string;
  /** What happened on the fork, in order, one line each. */
  steps: string[];
}

export interface SafeTxData {
  to: Address;
  value: string;
  data: Hex;
  operation: 0 | 1;
  safeTxGas: string;
  baseGas: string;
  gasPrice: string;
  gasToken: Address;
  refundReceiver: Address;
  nonce: string;
}

export interface TimelockOperation {
  address: Address;
  operationId: Hex;
  salt: Hex;
  predecessor: Hex;
  delay: string;
  targets: Address[];
  values: string[];
  payloads: Hex[];
  /** Operations this proposal cancels before scheduling (stale scheduled proposals). */
  cancels: Hex[];
  /** What each cancelled operation was, in the order of `cancels`. */
  cancelled?: CancelledOperation[];
  /**
   * Who refuses the operation once it has been ready for `expiration` seconds: the contract
   * (ExpiringTimelock) or this tool (a stock TimelockController has no expiry). Absent = contract.
   */
  expiryEnforcedBy?: "contract" | "tool";
  /** The window this tool enforces, in seconds (set when expiryEnforcedBy is "tool"). */
  expiration?: string;
}

/** The timelock operation an execution proposal runs, and when this tool stops letting it run. */
export interface ExecutedOperation {
  proposalId: string;
  timelock: Address;
  operationId: Hex;
  /** Unix seconds after which the operation is expired (by the contract or this tool). */
  expiresAt: string;
  expiryEnforcedBy: "contract" | "tool";
}

export interface DecodedCall {
  resource: string;
  property: string;
  description: string;
  to: Address;
  sender: Address;
  functionName: string;
  signature: string;
  args: string[];
  data: Hex;
  revokes: boolean;
  /** For upgradeToAndCall with data: the signature of the function the data calls, which decodes it (e.g. "initializeV2(string)"). */
  upgradeCall?: string;
  /** The governed value before → after this call, e.g. "threshold 2 → 3" or "not authorized → authorized". */
  change?: string;
}

export interface FileSignature {
  signer: Address;
  data: Hex;
}
