import { z } from "zod";

/** Levenshtein distance: how many single-character edits turn one key into the other. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/** The valid key a typo most likely meant: close enough that the suggestion helps, else none. */
export function nearestKey(key: string, valid: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of valid) {
    const distance = editDistance(key, candidate);
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  const close =
    best &&
    (best.distance <= Math.max(2, Math.floor(key.length / 3)) || best.key.toLowerCase().includes(key.toLowerCase()));
  return close ? best!.key : undefined;
}

export function unknownKeyMessage(key: string, valid: readonly string[]): string {
  const nearest = nearestKey(key, valid);
  return nearest ? `unknown key; did you mean "${nearest}"?` : `unknown key; valid keys here: ${valid.join(", ")}`;
}

/**
 * An object that refuses keys it does not declare: a dropped typo would silently leave a setting
 * unmanaged. One message line per unknown key, in the issue's key order (parseStackConfig splits them).
 */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const valid = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => unknownKeyMessage(key, valid)).join("\n")
        : undefined,
  });
}
