import { readLiveState, type LiveState } from "../chain/read-state";
import type { Stack } from "./stack";

/** The stack's live state at the head (or at `pinnedBlock`), scanning events from its checkpoint. */
export function readStackState(stack: Stack, pinnedBlock?: bigint): Promise<LiveState> {
  const { checkpoints, notices, onNotice } = stack.scans;
  const notice = (message: string) => {
    if (notices.has(message)) return;
    notices.add(message);
    onNotice?.(message);
  };
  return readLiveState(stack.client, stack.config, { pinnedBlock, checkpoints, onNotice: notice });
}
