import {
  getAbiItem,
  getAddress,
  keccak256,
  stringToHex,
  type Abi,
  type AbiEvent,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { dstackAppAbi, dstackAppTcbAbi, dstackKmsAbi, ownable2StepAbi, safeAbi, timelockAbi } from "../src/chain/abis";
import { scanLogs } from "../src/chain/logs";
import { changeEventsOf } from "../src/governed/registry";
import type { StackConfig } from "../src/config/schema";

/** One governance event, with when it happened and who sent the transaction that caused it. */
export interface GovernanceEvent {
  blockNumber: bigint;
  logIndex: number;
  time: bigint;
  txHash: Hex;
  /** The transaction's sender: for an execution, the executor; for a direct change, whoever held the key. */
  from: Address;
  /** "safe", "timelock", "kms" or "app:<name>". */
  contract: string;
  address: Address;
  event: string;
  args: Record<string, string>;
  /** Changes governed state, as opposed to the process around it (approvals, scheduling, executions). */
  isChange: boolean;
  /** Emitted by a contract-creating transaction (a constructor): part of the deployment. */
  creation?: boolean;
}

interface ContractEvents {
  abi: Abi;
  process: readonly string[];
  changes: readonly string[];
}

// OwnershipTransferStarted and PolicyChanged exist on dstack main only; older contracts just never emit them.
const proxyChanges = ["Upgraded", "OwnershipTransferred", "OwnershipTransferStarted", "PolicyChanged"];

/** dstack main's PolicyChanged names its policy by the hash of a label: show the label. */
const POLICY_LABELS = new Map(
  [
    "compose-hash",
    "device",
    "allow-any-device",
    "require-tcb-up-to-date",
    "upgrades-disabled",
    "implementation-upgrade",
    "kms-info",
    "gateway-app-id",
    "app-implementation",
    "kms-aggregated-mr",
    "kms-device",
    "os-image",
    "registered-app",
  ].map((label) => [keccak256(stringToHex(label)), label]),
);

// App registration is permissionless, so AppRegistered / AppDeployedViaFactory say nothing about governance.
const eventsOf = {
  safe: {
    abi: safeAbi,
    process: ["ApproveHash", "ExecutionSuccess", "ExecutionFailure"],
    changes: ["AddedOwner", "RemovedOwner", "ChangedThreshold"],
  },
  timelock: {
    abi: timelockAbi,
    process: ["CallScheduled", "CallExecuted", "Cancelled"],
    changes: ["MinDelayChange", "ExpirationChanged", "RoleGranted", "RoleRevoked"],
  },
  kms: {
    abi: [...dstackKmsAbi, ...ownable2StepAbi],
    process: [],
    changes: [...changeEventsOf("kms"), ...proxyChanges],
  },
  app: {
    abi: [...dstackAppAbi, ...dstackAppTcbAbi, ...ownable2StepAbi],
    process: [],
    changes: [...changeEventsOf("app"), "UpgradesDisabled", ...proxyChanges],
  },
} satisfies Record<string, ContractEvents>;

/** The stack's contracts by address, each with the events it is audited for. */
function auditedContracts(config: StackConfig): Map<Address, { contract: string; events: ContractEvents }> {
  const contracts = new Map<Address, { contract: string; events: ContractEvents }>();
  const governance = config.governance;
  if (governance.mode !== "direct") contracts.set(governance.safe.address, { contract: "safe", events: eventsOf.safe });
  if (governance.mode === "safe+timelock")
    contracts.set(governance.timelock.address, { contract: "timelock", events: eventsOf.timelock });
  contracts.set(config.kms.proxy, { contract: "kms", events: eventsOf.kms });
  for (const app of config.apps) contracts.set(app.proxy, { contract: `app:${app.name}`, events: eventsOf.app });
  return contracts;
}

function abiEventsOf(events: ContractEvents): AbiEvent[] {
  return [...events.process, ...events.changes].map((name) => getAbiItem({ abi: events.abi, name }) as AbiEvent);
}

const argText = (value: unknown): string =>
  Array.isArray(value) ? `[${value.map(argText).join(",")}]` : String(value);

/** Every audited event of the stack's contracts in [fromBlock, toBlock], oldest first. */
export async function readGovernanceEvents(
  client: PublicClient,
  config: StackConfig,
  fromBlock: bigint,
  toBlock: bigint,
): Promise<GovernanceEvent[]> {
  const contracts = auditedContracts(config);
  // Contracts share some signatures (Upgraded, OwnershipTransferred): ask for each topic once.
  const bySignature = new Map(
    [...contracts.values()]
      .flatMap(({ events }) => abiEventsOf(events))
      .map((e) => [`${e.name}(${e.inputs.map((i) => i.type)})`, e]),
  );
  const logs = await scanLogs(client, {
    addresses: [...contracts.keys()],
    events: [...bySignature.values()],
    fromBlock,
    toBlock,
    maxRange: config.network.logChunkSize === undefined ? undefined : BigInt(config.network.logChunkSize),
    concurrency: config.network.logScanConcurrency,
  });
  const audited = logs.filter((log) => {
    // Registration is open to anyone (see above), on main with a PolicyChanged of its own.
    if (log.eventName === "PolicyChanged" && POLICY_LABELS.get(log.args.policy as Hex) === "registered-app")
      return false;
    const events = contracts.get(getAddress(log.address))?.events;
    return events !== undefined && [...events.process, ...events.changes].includes(log.eventName);
  });

  const senders = new Map<Hex, Promise<{ from: Address; creation: boolean }>>();
  const times = new Map<bigint, Promise<bigint>>();
  for (const log of audited) {
    if (!senders.has(log.transactionHash))
      senders.set(
        log.transactionHash,
        client
          .getTransaction({ hash: log.transactionHash })
          .then((tx) => ({ from: getAddress(tx.from), creation: tx.to === null })),
      );
    if (!times.has(log.blockNumber))
      times.set(
        log.blockNumber,
        client.getBlock({ blockNumber: log.blockNumber }).then((block) => block.timestamp),
      );
  }
  const events = await Promise.all(
    audited.map(async (log): Promise<GovernanceEvent> => {
      const address = getAddress(log.address);
      const { contract, events } = contracts.get(address)!;
      const sender = await senders.get(log.transactionHash)!;
      return {
        blockNumber: log.blockNumber,
        logIndex: log.logIndex,
        time: await times.get(log.blockNumber)!,
        txHash: log.transactionHash,
        from: sender.from,
        contract,
        address,
        event: log.eventName,
        args: Object.fromEntries(
          Object.entries(log.args).map(([name, value]) => [
            name,
            name === "policy" ? (POLICY_LABELS.get(value as Hex) ?? argText(value)) : argText(value),
          ]),
        ),
        isChange: events.changes.includes(log.eventName),
        ...(sender.creation ? { creation: true } : {}),
      };
    }),
  );
  return events.sort((a, b) =>
    a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
  );
}
