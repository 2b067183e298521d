/** Number formatting and plain-text / markdown tables. */
export const fmt = (v: unknown, digits = 1): string => {
  if (typeof v !== "number") return v === undefined ? "-" : String(v)
  if (!Number.isFinite(v)) return "-"
  const a = Math.abs(v)
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`
  if (a >= 1e4) return `${(v / 1e3).toFixed(0)}k`
  if (a >= 100) return v.toFixed(0)
  return v.toFixed(digits)
}

export const pct = (v: unknown): string =>
  typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : "-"

export const times = (v: unknown): string => (typeof v === "number" && Number.isFinite(v) ? `${v.toFixed(2)}x` : "-")

/** A median with its range: `12.3 (10.1-15.0)`. */
export const range = (row: Record<string, unknown> | undefined, key: string, digits = 1): string => {
  if (row === undefined) return "-"
  const min = row[`${key}Min`]
  const max = row[`${key}Max`]
  return min === undefined
    ? fmt(row[key], digits)
    : `${fmt(row[key], digits)} (${fmt(min, digits)}-${fmt(max, digits)})`
}

export const textTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

export const mdTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`)
  ].join("\n")
