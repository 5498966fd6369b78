const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as const;

const DURATION = /^(\d+)(s|m|h|d|w)$/;

/** "48h" → 172800n. Only whole numbers of one unit, so a value reads the same everywhere. */
export function parseDuration(text: string): bigint | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return BigInt(match[1]) * BigInt(UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS]);
}

/** 172800n → "48h" (2d also reads as 48h; the largest exact unit wins, so "2d"). */
export function formatDuration(seconds: bigint): string {
  for (const unit of ["w", "d", "h", "m"] as const) {
    const size = BigInt(UNIT_SECONDS[unit]);
    if (seconds >= size && seconds % size === 0n) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
