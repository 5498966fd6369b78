import type { LiveState } from "../chain/read-state";
import type { StackConfig } from "../config/schema";
import { setsOf } from "../governed/registry";

/**
 * What the config leaves ungoverned while the chain holds something: preview shows it so an
 * omitted key reads as "not managed", never as "empty".
 */
export function unmanagedNotes(config: StackConfig, live: LiveState): string[] {
  const notes: string[] = [];
  const set = (path: string, declared: unknown, members: readonly unknown[]) => {
    if (declared === undefined && members.length) notes.push(`${path}: not managed, ${members.length} on chain`);
  };
  const field = (object: object, property: string) => (object as Record<string, unknown>)[property];
  for (const { property } of setsOf("kms"))
    set(`kms.${property}`, field(config.kms, property), field(live.kms, property) as unknown[]);
  config.apps.forEach((app, i) => {
    const state = live.apps.find((a) => a.name === app.name);
    if (!state) return;
    for (const { property } of setsOf("app"))
      set(`apps[${i}].${property}`, field(app, property), field(state, property) as unknown[]);
    if (app.allowAnyDevice === undefined)
      notes.push(`apps[${i}].allowAnyDevice: not managed, ${state.allowAnyDevice} on chain`);
    if (app.requireTcbUpToDate === undefined && state.requireTcbUpToDate !== undefined)
      notes.push(`apps[${i}].requireTcbUpToDate: not managed, ${state.requireTcbUpToDate} on chain`);
  });
  return notes;
}
