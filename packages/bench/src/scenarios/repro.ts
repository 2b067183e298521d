/**
 * The reproducibility check: the 5-subscription throughput of eventfabric in
 * each back-to-back run of this invocation (`--runs=N`) and in the previous
 * report of the same profile, with the spread between them (max / min).
 */
import type { Row } from "../result.ts"

export const TOLERANCE = 0.15

/**
 * The harness's version, written to the report's meta: a previous report is
 * comparable only when it was measured the same way (2: one child process per
 * implementation per repetition).
 */
export const HARNESS = 2

const figure = (rows: ReadonlyArray<Row> | undefined, key = "eventsPerSec"): number | undefined => {
  const v = rows?.find((r) => r.scenario === "throughput" && r.impl === "eventfabric" && r.subscribers === 5)?.[key]
  return typeof v === "number" && Number.isFinite(v) ? v : undefined
}

/** max / min - 1 of the figures; NaN with fewer than two. */
export const spread = (xs: ReadonlyArray<number>): number =>
  xs.length < 2 ? Number.NaN : Math.max(...xs) / Math.min(...xs) - 1

export const reproducibility = (
  runs: ReadonlyArray<ReadonlyArray<Row>>,
  profile: string,
  previous: { readonly meta?: Record<string, unknown>; readonly results?: ReadonlyArray<Row> } | undefined
): Row | undefined => {
  const current = runs.map((r) => figure(r)).filter((v): v is number => v !== undefined)
  if (current.length === 0) return undefined
  const prev = figure(previous?.results)
  // Only a report of the same profile and harness is comparable (others measure differently).
  const samePrevious = prev !== undefined && previous?.meta?.profile === profile && previous?.meta?.harness === HARNESS
  const s = spread(current)
  const cpu = runs.map((r) => figure(r, "eventsPerCpuSec")).filter((v): v is number => v !== undefined)
  return {
    scenario: "reproducibility",
    impl: "eventfabric",
    metric: "throughput, 5 subscriptions (ev/s)",
    runs: current,
    spread: s,
    withinTolerance: Number.isNaN(s) ? undefined : s <= TOLERANCE,
    runsCpu: cpu,
    spreadCpu: spread(cpu),
    previous: samePrevious ? prev : undefined,
    previousDate: samePrevious ? previous?.meta?.date : undefined,
    previousProfile: samePrevious ? previous?.meta?.profile : undefined,
    ratioToPrevious: samePrevious ? current[current.length - 1]! / prev : undefined
  }
}
