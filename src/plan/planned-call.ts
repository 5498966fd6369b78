import { encodeChange, revokes } from "./changes";
import type { PlannedCall } from "./types";

/** A planned call from its typed change: the calldata and whether it revokes both come from the change. */
export function plannedCall(
  spec: Omit<PlannedCall, "value" | "data" | "functionName" | "args" | "revokes">,
): PlannedCall {
  const { functionName, args, data } = encodeChange(spec.change);
  return { ...spec, value: 0n, data, functionName, args, revokes: revokes(spec.change) };
}
