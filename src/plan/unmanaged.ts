import type { LiveState } from "../chain/read-state";
import type { StackConfig } from "../config/schema";

/**
 * What the config leaves ungoverned while the chain holds something: preview shows it so an
 * omitted key reads as "not managed", never as "empty".
 */
export function unmanagedNotes(config: StackConfig, live: LiveState): string[] {
  const notes: string[] = [];
  const set = (path: string, declared: unknown, members: readonly unknown[]) => {
    if (declared === undefined && members.length) notes.push(`${path}: not managed, ${members.length} on chain`);
  };
  set("kms.aggregatedMrs", config.kms.aggregatedMrs, live.kms.aggregatedMrs);
  set("kms.devices", config.kms.devices, live.kms.devices);
  config.apps.forEach((app, i) => {
    const state = live.apps.find((a) => a.name === app.name);
    if (!state) return;
    set(`apps[${i}].devices`, app.devices, state.devices);
    if (app.allowAnyDevice === undefined)
      notes.push(`apps[${i}].allowAnyDevice: not managed, ${state.allowAnyDevice} on chain`);
    if (app.requireTcbUpToDate === undefined && state.requireTcbUpToDate !== undefined)
      notes.push(`apps[${i}].requireTcbUpToDate: not managed, ${state.requireTcbUpToDate} on chain`);
  });
  return notes;
}
