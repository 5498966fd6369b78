import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Address } from "viem";
import { devAccounts } from "../../devnet/accounts";
import type { LiveState } from "../../src/chain/read-state";
import type { StackConfig, StackConfigInput } from "../../src/config/schema";
import { writeStackFile } from "../../src/config/stack-file";
import { planChanges } from "../../src/plan/plan";
import { safeOwnerCalls } from "../../src/plan/safe-owners";
import type { PlannedCall } from "../../src/plan/types";
import { checkPolicy } from "../../src/policy/check";
import { inspectPolicy, sealProposal } from "../../src/policy/gate";
import { inspectStack, proposeChanges } from "../../src/reconcile/reconcile";
import { openStack } from "../../src/reconcile/stack";
import { owners, startTestDevnet, type TestDevnet } from "../helpers/devnet";

type TimelockGovernance = Extract<StackConfigInput["governance"], { mode: "safe+timelock" }>;
const governanceOf = (c: StackConfigInput) => c.governance as TimelockGovernance;
const outsider = devAccounts.outsider.address;
const noCode = "0x000000000000000000000000000000000000dEaD" as Address;
const reason = "devnet: only three dev keys and a one-hour delay exist here";

/** A production stack on the devnet: the devnet's 3 signers, 1 h and 3 d need written overrides. */
function production(c: StackConfigInput, rules = ["signers.count", "timelock.delay", "timelock.expiration"]) {
  c.network.tier = "production";
  c.policy = { overrides: rules.map((rule) => ({ rule: rule as never, reason })) };
}

/** The calls a (faulty) planner would emit for `edit`, checked against the unedited config. */
const plannedFor = (edit: (c: StackConfig) => void) => (live: LiveState, config: StackConfig) => {
  const desired = structuredClone(config);
  edit(desired);
  return planChanges(desired, live);
};

interface Case {
  name: string;
  edit?: (c: StackConfigInput) => void;
  /** An unsafe plan: these calls replace the planner's. */
  calls?: (live: LiveState, config: StackConfig) => PlannedCall[];
  /** The field path (and rule id) the message must name, and the fix it must give. */
  field: string;
  rule?: string;
  fix: RegExp;
}

/** Renames a key in place (a typo): the strict schema must name the typo, not just the missing key. */
function rename(object: object, from: string, to: string) {
  const o = object as Record<string, unknown>;
  o[to] = o[from];
  delete o[from];
}

const cases: Case[] = [
  // Unknown keys: a typo is an error naming it and the key it most likely meant.
  {
    name: "misspelled threshold",
    edit: (c) => rename(governanceOf(c).safe, "threshold", "treshold"),
    field: "governance.safe.treshold",
    fix: /unknown key; did you mean "threshold"\?/,
  },
  {
    name: "kms.device instead of devices",
    edit: (c) => rename(c.kms, "devices", "device"),
    field: "kms.device",
    fix: /unknown key; did you mean "devices"\?/,
  },
  {
    name: "osImage instead of osImages",
    edit: (c) => rename(c.kms, "osImages", "osImage"),
    field: "kms.osImage",
    fix: /unknown key; did you mean "osImages"\?/,
  },
  {
    name: "a misspelled policy section",
    edit: (c) => ((c as Record<string, unknown>).polcy = {}),
    field: "polcy",
    fix: /did you mean "policy"\?/,
  },
  {
    name: "an unknown app setting",
    edit: (c) => ((c.apps![0] as Record<string, unknown>).allowAnyDevices = true),
    field: "apps[0].allowAnyDevices",
    fix: /did you mean "allowAnyDevice"\?/,
  },
  {
    name: "a non-positive chain id in plain words",
    edit: (c) => (c.network.chainId = 0),
    field: "network.chainId",
    fix: /must be more than 0/,
  },
  // A shrink by more than half needs a written override (replacements do not shrink).
  {
    name: "removing every KMS device",
    edit: (c) => (c.kms.devices = []),
    field: "kms.devices",
    rule: "set.mass-removal",
    fix: /rule: "set\.mass-removal"/,
  },
  // The schema: policy settings themselves.
  {
    name: "override of an unknown rule",
    edit: (c) => (c.policy = { overrides: [{ rule: "signers.cnt" as never, reason }] }),
    field: "policy.overrides[0].rule",
    fix: /must be one of signers\.count, signers\.organisations/,
  },
  {
    name: "override without a real reason",
    edit: (c) => (c.policy = { overrides: [{ rule: "signers.count", reason: "ok" }] }),
    field: "policy.overrides[0].reason",
    fix: /write why the recommendation does not fit \(at least 20 characters\)/,
  },
  {
    name: "the same rule overridden twice",
    edit: (c) =>
      (c.policy = {
        overrides: [
          { rule: "timelock.delay", reason },
          { rule: "timelock.delay", reason },
        ],
      }),
    field: "policy.overrides[1].rule",
    fix: /keep one entry with one reason/,
  },
  {
    name: "promotion gate without a stack",
    edit: (c) => (c.policy = { promotion: { fromStack: "" } }),
    field: "policy.promotion.fromStack",
    fix: /name the non-production stack/,
  },
  {
    name: "threshold above the owner count",
    edit: (c) => (governanceOf(c).safe.threshold = 4),
    field: "governance.safe.threshold",
    fix: /lower it or add owners/,
  },
  {
    name: "a Safe without owners",
    edit: (c) => ((governanceOf(c).safe.owners = []), (governanceOf(c).safe.threshold = 1)),
    field: "governance.safe.owners",
    fix: /a Safe needs at least one owner/,
  },
  {
    name: "a signer without an organisation",
    edit: (c) => (governanceOf(c).safe.owners[0].org = ""),
    field: "governance.safe.owners[0].org",
    fix: /name the signer's organisation/,
  },
  {
    name: "an RPC serving another chain",
    edit: (c) => (c.network.chainId = 8453),
    field: "network.chainId",
    fix: /point network\.rpcUrls at a chain-8453 RPC/,
  },

  // The recommended configuration on a production stack (declared config).
  {
    name: "production with 3 signers",
    edit: (c) => production(c, ["timelock.delay", "timelock.expiration"]),
    field: "governance.safe.owners",
    rule: "signers.count",
    fix: /declare 5 to 7 owners, or add policy\.overrides/,
  },
  {
    name: "production with 8 signers",
    edit: (c) => {
      production(c, ["timelock.delay", "timelock.expiration"]);
      governanceOf(c).safe.owners = Array.from({ length: 8 }, (_, i) => ({
        address: `0x${(i + 1).toString(16).padStart(40, "a")}`,
        org: `org-${i % 2}`,
      }));
      governanceOf(c).safe.threshold = 6;
    },
    field: "governance.safe.owners",
    rule: "signers.count",
    fix: /declare 5 to 7 owners/,
  },
  {
    name: "production signers from one organisation",
    edit: (c) => (production(c), governanceOf(c).safe.owners.forEach((o) => (o.org = "phala"))),
    field: "governance.safe.owners",
    rule: "signers.organisations",
    fix: /add signers from another organisation/,
  },
  {
    name: "production threshold 1 of 3",
    edit: (c) => (production(c), (governanceOf(c).safe.threshold = 1)),
    field: "governance.safe.threshold",
    rule: "threshold.ratio",
    fix: /raise governance\.safe\.threshold to at least 2/,
  },
  {
    name: "production delay of 1 h",
    edit: (c) => production(c, ["signers.count", "timelock.expiration"]),
    field: "governance.timelock.delay",
    rule: "timelock.delay",
    fix: /set governance\.timelock\.delay to 1d to 3d/,
  },
  {
    name: "production delay of 96 h",
    edit: (c) => (production(c, ["signers.count", "timelock.expiration"]), (governanceOf(c).timelock.delay = "96h")),
    field: "governance.timelock.delay",
    rule: "timelock.delay",
    fix: /1d to 3d/,
  },
  {
    name: "production expiration of 3 d",
    edit: (c) => production(c, ["signers.count", "timelock.delay"]),
    field: "governance.timelock.expiration",
    rule: "timelock.expiration",
    fix: /set governance\.timelock\.expiration to 1w to 2w/,
  },
  {
    name: "production expiration of 30 d",
    edit: (c) => (production(c, ["signers.count", "timelock.delay"]), (governanceOf(c).timelock.expiration = "30d")),
    field: "governance.timelock.expiration",
    rule: "timelock.expiration",
    fix: /1w to 2w/,
  },
  {
    name: "production without a timelock (mode safe)",
    edit: (c) => (production(c), (c.governance = { mode: "safe", safe: governanceOf(c).safe })),
    field: "governance.mode",
    rule: "timelock.bypass",
    fix: /use mode safe\+timelock with a 1d to 3d delay/,
  },
  {
    name: "production in direct mode",
    edit: (c) => (
      production(c, ["timelock.bypass"]), (c.governance = { mode: "direct", admin: devAccounts.admin.address })
    ),
    field: "governance.mode",
    rule: "signers.count",
    fix: /use a Safe with 5 to 7 signers/,
  },
  {
    name: "production app owned by the Safe",
    edit: (c) => (production(c), (c.apps![0].owner = governanceOf(c).safe.address)),
    field: "apps[0].owner",
    rule: "timelock.bypass",
    fix: /remove apps\[0\]\.owner so the timelock owns it/,
  },
  {
    name: "production KMS owned by the Safe",
    edit: (c) => (production(c), (c.kms.owner = governanceOf(c).safe.address)),
    field: "kms.owner",
    rule: "timelock.bypass",
    fix: /remove kms\.owner so the timelock owns it/,
  },

  // Rails on the declared config, on every tier.
  {
    name: "empty OS image set",
    edit: (c) => (c.kms.osImages = []),
    field: "kms.osImages",
    rule: "rail.empty-os-images",
    fix: /set policy\.allowEmptyOsImages: true/,
  },
  {
    name: "empty compose hash set",
    edit: (c) => (c.apps![0].composeHashes = []),
    field: "apps[0].composeHashes",
    rule: "rail.empty-compose-hashes",
    fix: /set apps\[0\]\.allowEmptyComposeHashes: true/,
  },
  {
    name: "one app's allowance does not cover another",
    edit: (c) => ((c.apps![0].allowEmptyComposeHashes = true), (c.apps![1].composeHashes = [])),
    field: "apps[1].composeHashes",
    rule: "rail.empty-compose-hashes",
    fix: /apps\[1\]\.allowEmptyComposeHashes/,
  },
  {
    name: "KMS handed to an outsider",
    edit: (c) => (c.kms.owner = outsider),
    field: "kms.owner",
    rule: "rail.ownership-transfer",
    fix: /or set policy\.allowOwnershipTransfer: true/,
  },
  {
    name: "app handed to an outsider",
    edit: (c) => (c.apps![1].owner = outsider),
    field: "apps[1].owner",
    rule: "rail.ownership-transfer",
    fix: /remove apps\[1\]\.owner \(the default is 0x/,
  },

  // Unsafe plans: the state the calls leave on chain.
  {
    name: "plan empties the OS image set",
    calls: plannedFor((c) => (c.kms.osImages = [])),
    field: "kms.osImages (after the proposal)",
    rule: "rail.empty-os-images",
    fix: /keep at least one OS image/,
  },
  {
    name: "plan empties an app's compose set",
    calls: plannedFor((c) => (c.apps[1].composeHashes = [])),
    field: "apps[1].composeHashes (after the proposal)",
    rule: "rail.empty-compose-hashes",
    fix: /keep at least one compose hash/,
  },
  {
    name: "plan removes the last owner",
    calls: (live) => safeOwnerCalls(live.safe!.address, live.safe!, { owners: [], threshold: 0 }),
    field: "governance.safe.owners (after the proposal)",
    rule: "rail.last-owner",
    fix: /keep at least one owner/,
  },
  {
    name: "plan sets the threshold above the owners",
    calls: (live) => safeOwnerCalls(live.safe!.address, live.safe!, { owners: live.safe!.owners, threshold: 5 }),
    field: "governance.safe.threshold (after the proposal)",
    rule: "rail.threshold",
    fix: /set governance\.safe\.threshold between 1 and 3/,
  },
  {
    name: "plan transfers an app away",
    calls: plannedFor((c) => (c.apps[0].owner = outsider)),
    field: "apps[0].owner (after the proposal)",
    rule: "rail.ownership-transfer",
    fix: /policy\.allowOwnershipTransfer/,
  },
  {
    name: "production plan lowers the threshold",
    edit: (c) => production(c),
    calls: plannedFor((c) => c.governance.mode !== "direct" && (c.governance.safe.threshold = 1)),
    field: "governance.safe.threshold (after the proposal)",
    rule: "threshold.ratio",
    fix: /raise governance\.safe\.threshold to at least 2/,
  },
  {
    name: "production plan shortens the delay",
    edit: (c) => (production(c, ["signers.count", "timelock.expiration"]), (governanceOf(c).timelock.delay = "24h")),
    calls: plannedFor((c) => c.governance.mode === "safe+timelock" && (c.governance.timelock.delay = 1800n)),
    field: "governance.timelock.delay (after the proposal)",
    rule: "timelock.delay",
    fix: /1d to 3d/,
  },

  // Upgrade pre-checks.
  {
    name: "upgrade to an address without code",
    edit: (c) => (c.kms.implementation = noCode),
    field: "kms.implementation",
    rule: "upgrade.no-code",
    fix: /deploy the implementation first/,
  },
  {
    name: "upgrade to a contract that is not UUPS",
    edit: (c) => (c.apps![0].implementation = governanceOf(c).timelock.address),
    field: "apps[0].implementation",
    rule: "upgrade.proxiable-uuid",
    fix: /UUPSUpgradeable implementation/,
  },
  {
    name: "app implementation without code",
    edit: (c) => (c.kms.appImplementation = noCode),
    field: "kms.appImplementation",
    rule: "upgrade.no-code",
    fix: /correct kms\.appImplementation/,
  },

  // Promotion gate settings.
  {
    name: "promotion from the stack itself",
    edit: (c) => ((c.policy = { promotion: { fromStack: "devnet" } }), c.kms.osImages.push(`0x${"ab".repeat(32)}`)),
    field: "policy.promotion.fromStack",
    rule: "promotion.source",
    fix: /name a non-production stack/,
  },
  {
    name: "promotion from a production stack",
    edit: (c) => (
      (c.policy = { promotion: { fromStack: "prod-source" } }), c.kms.osImages.push(`0x${"ab".repeat(32)}`)
    ),
    field: "policy.promotion.fromStack",
    rule: "promotion.source",
    fix: /network\.tier: non-production/,
  },
  {
    name: "promotion from a stack that does not exist",
    edit: (c) => ((c.policy = { promotion: { fromStack: "nowhere" } }), c.kms.osImages.push(`0x${"ab".repeat(32)}`)),
    field: "policy.promotion.fromStack",
    fix: /pulumi stack init nowhere/,
  },
];

describe("bad configs and unsafe plans are refused before anything is sent or written", () => {
  let devnet: TestDevnet;
  let root: string;
  before(async () => {
    devnet = await startTestDevnet("safe+timelock");
    root = mkdtempSync(join(tmpdir(), "gov-policy-"));
    const prodSource = devnet.config();
    production(prodSource);
    writeStackFile(root, "prod-source", prodSource);
    writeStackFile(root, "devnet", devnet.config());
  });
  after(() => devnet.stop());

  const nothingWritten = () =>
    assert.ok(
      !existsSync(join(root, "proposals")) ||
        readdirSync(join(root, "proposals")).every((d) => readdirSync(join(root, "proposals", d)).length === 0),
      "no proposal file",
    );

  async function attempt(c: Case): Promise<Error> {
    const raw = devnet.config();
    c.edit?.(raw);
    try {
      const stack = await openStack({ name: "devnet", root, rawConfig: raw });
      let inspection = await inspectStack(stack);
      if (c.calls) {
        const calls = c.calls(inspection.live, stack.config);
        inspection = { ...inspection, calls, findings: await inspectPolicy(stack, inspection.live, calls) };
      }
      await proposeChanges(stack, inspection, owners[0].privateKey);
    } catch (error) {
      return error as Error;
    }
    return assert.fail(`${c.name}: accepted`);
  }

  it(`has at least 30 cases (${cases.length + 1})`, () => assert.ok(cases.length + 1 >= 30));

  for (const c of cases) {
    it(c.name, async () => {
      const blockBefore = await blockNumber();
      const error = await attempt(c);
      assert.ok(error.message.includes(c.field), `names ${c.field}:\n${error.message}`);
      if (c.rule) assert.ok(error.message.includes(`[${c.rule}]`), `names rule ${c.rule}:\n${error.message}`);
      assert.match(error.message, c.fix);
      assert.equal(await blockNumber(), blockBefore, "nothing was sent");
      nothingWritten();
    });
  }

  it("a proposal scheduled below the timelock's own delay is refused before it is written", async () => {
    const raw = devnet.config();
    raw.kms.osImages.push(`0x${"cd".repeat(32)}`);
    // Built (and written) in a scratch root, then tampered with.
    const scratch = await openStack({
      name: "devnet",
      root: mkdtempSync(join(tmpdir(), "gov-scratch-")),
      rawConfig: raw,
    });
    const built = (await proposeChanges(scratch, await inspectStack(scratch)))!;
    const stack = await openStack({ name: "devnet", root, rawConfig: raw });
    const inspection = await inspectStack(stack);
    const tampered = { ...built, timelock: { ...built.timelock!, delay: "60" } };
    await assert.rejects(sealProposal(tampered, stack, inspection.live, inspection.findings, {}), (error: Error) => {
      assert.match(
        error.message,
        /timelock\.delay \(proposal\): the proposal schedules with 1m, below the timelock's own 1h \[rail\.schedule-delay\]; fix: regenerate the proposal/,
      );
      return true;
    });
    nothingWritten();
  });

  it("the devnet's own config (non-production, 3 signers 2-of-3, 1 h, 3 d) has no findings", async () => {
    const stack = await openStack({ name: "devnet", root, rawConfig: devnet.config() });
    assert.deepEqual((await inspectStack(stack)).findings, { errors: [], warnings: [], overrides: [] });
  });

  it("a config without devices, aggregatedMrs or allowAnyDevice leaves them alone and says so", async () => {
    const raw = devnet.config();
    delete raw.kms.devices;
    delete raw.kms.aggregatedMrs;
    delete raw.apps![0].devices;
    delete raw.apps![0].allowAnyDevice;
    const inspection = await inspectStack(await openStack({ name: "devnet", root, rawConfig: raw }));
    assert.ok(
      inspection.live.kms.devices.length > 0 && inspection.live.apps[0].devices.length > 0,
      "the devnet has live devices",
    );
    assert.deepEqual(inspection.calls, [], "nothing is revoked");
    assert.deepEqual(inspection.unmanaged, [
      `kms.aggregatedMrs: not managed, ${inspection.live.kms.aggregatedMrs.length} on chain`,
      `kms.devices: not managed, ${inspection.live.kms.devices.length} on chain`,
      `apps[0].devices: not managed, ${inspection.live.apps[0].devices.length} on chain`,
      "apps[0].allowAnyDevice: not managed, false on chain",
    ]);
  });

  it("on a non-production stack a recommendation violation is a warning; an unneeded override is flagged", async () => {
    const raw = devnet.config();
    governanceOf(raw).safe.threshold = 1;
    raw.policy = { overrides: [{ rule: "timelock.expiration", reason }] };
    const stack = await openStack({ name: "devnet", root, rawConfig: raw });
    const { errors, warnings } = checkPolicy(stack.config);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      warnings.map((w) => `${w.rule} ${w.path}`),
      ["threshold.ratio governance.safe.threshold", "policy.overrides policy.overrides[0]"],
    );
  });

  async function blockNumber() {
    return (await openStack({ name: "devnet", root, rawConfig: devnet.config() })).client.getBlockNumber();
  }
});
