import { summarize } from "../stats.ts"

/**
 * Folds repetitions into one row: each numeric field becomes its median, with
 * `<field>Min` / `<field>Max` beside it; `reps` counts them.
 */
export const aggregate = (
  reps: ReadonlyArray<Record<string, number | undefined>>,
  keys: ReadonlyArray<string>
): Record<string, number> => {
  const out: Record<string, number> = { reps: reps.length }
  for (const key of keys) {
    const values = reps.map((r) => r[key]).filter((v): v is number => typeof v === "number")
    if (values.length === 0) continue
    const s = summarize(values)
    out[key] = s.median
    out[`${key}Min`] = s.min
    out[`${key}Max`] = s.max
  }
  return out
}

/** Adds `ratioTo<Peer>` style comparisons: eventfabric's value over each peer's (same scenario and key). */
export const ratios = (
  rows: ReadonlyArray<{ readonly impl: string; readonly [k: string]: unknown }>,
  key: string
): Record<string, number> => {
  const ours = rows.find((r) => r.impl === "eventfabric")?.[key]
  const out: Record<string, number> = {}
  if (typeof ours !== "number") return out
  for (const r of rows) {
    const v = r[key]
    if (r.impl !== "eventfabric" && typeof v === "number" && v !== 0) out[r.impl] = ours / v
  }
  return out
}
