/** Fixed-width columns, so a status table lines up in a terminal and diffs cleanly in CI logs. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** Chain timestamps (seconds) as UTC ISO text: one unambiguous form for every signer's time zone. */
export function isoTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}

/** JSON with bigints as decimal strings (chain values exceed Number). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2);
}
