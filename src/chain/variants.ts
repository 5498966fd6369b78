import type { Address, Hex } from "viem";
import { GovernanceError } from "../errors";
import type { CallResult } from "./multicall";

/**
 * The DstackApp shapes upstream has shipped (Dstack-TEE/dstack kms/auth-eth), told apart by probing:
 * - `legacy`   v0.5.4–v0.5.9: single-step Ownable, no TCB flag;
 * - `released` v0.5.10–v0.5.11: single-step Ownable, `requireTcbUpToDate`;
 * - `two-step` main: `pendingOwner` / `acceptOwnership`, `requireTcbUpToDate`, `PolicyChanged`.
 * All keep the private upgrades-disabled flag in slot 1, byte 0, with `allowAnyDevice` in byte 1.
 */
export type AppVariant = "legacy" | "released" | "two-step";
export type KmsVariant = "released" | "two-step";

export const APP_VARIANTS: Record<AppVariant, string> = {
  legacy: "DstackApp v0.5.4–v0.5.9 (single-step owner, no TCB flag)",
  released: "DstackApp v0.5.10–v0.5.11 (single-step owner, requireTcbUpToDate)",
  "two-step": "DstackApp of dstack main (two-step owner, requireTcbUpToDate, PolicyChanged)",
};

/** A proxy that is no DstackKms/DstackApp version this tool knows: it refuses to guess what it governs. */
export class UnknownVariantError extends GovernanceError {
  constructor(path: string, what: string, address: Address, found: string) {
    super("contract", `${what} at ${address} is not a known dstack contract version`, [
      { path, message: found, fix: `check ${path}; the tool governs DstackKms/DstackApp v0.5.4 to dstack main` },
    ]);
  }
}

const firstLine = (r: CallResult) => (r.status === "failure" ? r.error.message.split("\n")[0] : "");

/** The KMS's shape: two-step ownership when `pendingOwner()` answers. */
export function kmsVariant(proxy: Address, probes: { owner: CallResult; pendingOwner: CallResult }): KmsVariant {
  if (probes.owner.status === "failure")
    throw new UnknownVariantError("kms.proxy", "the KMS", proxy, `owner() fails (${firstLine(probes.owner)})`);
  return probes.pendingOwner.status === "success" ? "two-step" : "released";
}

/**
 * The app's shape from its probes, and its upgrades-disabled flag from slot 1, checked against the
 * layout: byte 0 is a bool, byte 1 must equal what `allowAnyDevice()` returns, the rest is zero.
 * Anything else is a layout this tool does not know, so it refuses to guess whether upgrades are off.
 */
export function appVariant(
  path: string,
  name: string,
  proxy: Address,
  probes: {
    owner: CallResult;
    pendingOwner: CallResult;
    allowAnyDevice: CallResult;
    requireTcbUpToDate: CallResult;
    flagsSlot: Hex | undefined;
  },
): { variant: AppVariant; upgradesDisabled: boolean } {
  const what = `app ${name}`;
  if (probes.owner.status === "failure")
    throw new UnknownVariantError(path, what, proxy, `owner() fails (${firstLine(probes.owner)})`);
  if (probes.allowAnyDevice.status === "failure")
    throw new UnknownVariantError(path, what, proxy, `allowAnyDevice() fails (${firstLine(probes.allowAnyDevice)})`);
  const twoStep = probes.pendingOwner.status === "success";
  const hasTcb = probes.requireTcbUpToDate.status === "success";
  if (twoStep && !hasTcb)
    throw new UnknownVariantError(path, what, proxy, "it has pendingOwner() but no requireTcbUpToDate()");
  const variant: AppVariant = twoStep ? "two-step" : hasTcb ? "released" : "legacy";

  const word = BigInt(probes.flagsSlot ?? "0x0");
  const disabledByte = word & 0xffn;
  const anyDeviceByte = (word >> 8n) & 0xffn;
  const allowAnyDevice = probes.allowAnyDevice.result as boolean;
  if (disabledByte > 1n || anyDeviceByte !== (allowAnyDevice ? 1n : 0n) || word >> 16n !== 0n) {
    throw new UnknownVariantError(
      path,
      what,
      proxy,
      `storage slot 1 holds 0x${word.toString(16)}, but ${APP_VARIANTS[variant]} keeps the upgrades-disabled flag in its byte 0 and allowAnyDevice (${allowAnyDevice}) in byte 1, so whether upgrades are disabled cannot be read`,
    );
  }
  return { variant, upgradesDisabled: disabledByte === 1n };
}
