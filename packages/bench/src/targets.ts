/**
 * Targets: the gated ones (seed 002; a failure exits 1) and the goals (reported
 * only). Pure: rows in, verdicts out.
 */
import type { Row, Target } from "./result.ts"

export interface TargetSpec {
  readonly name: string
  readonly unit: string
  readonly limit: number
  readonly kind: "max" | "min"
  readonly strict: boolean
  readonly gated: boolean
  readonly pick: (rows: ReadonlyArray<Row>) => number | undefined
  readonly note?: string | undefined
}

/** Pass when the value is measured and on the right side of the limit; a missing value fails. */
export const evaluate = (spec: TargetSpec, value: number | undefined): Target => {
  const v = value === undefined || !Number.isFinite(value) ? Number.NaN : value
  const ok = Number.isNaN(v)
    ? false
    : spec.kind === "max"
      ? spec.strict
        ? v < spec.limit
        : v <= spec.limit
      : spec.strict
        ? v > spec.limit
        : v >= spec.limit
  return {
    name: spec.name,
    value: v,
    limit: spec.limit,
    unit: spec.unit,
    kind: spec.kind,
    strict: spec.strict,
    gated: spec.gated,
    pass: ok,
    note: spec.note
  }
}

export const evaluateAll = (specs: ReadonlyArray<TargetSpec>, rows: ReadonlyArray<Row>): Array<Target> =>
  specs.map((s) => evaluate(s, s.pick(rows)))

/** The gated targets that failed: non-empty means exit 1. */
export const failures = (targets: ReadonlyArray<Target>): Array<Target> => targets.filter((t) => t.gated && !t.pass)

const find = (rows: ReadonlyArray<Row>, match: Record<string, unknown>): Row | undefined =>
  rows.find((r) => Object.entries(match).every(([k, v]) => r[k] === v))

const num = (row: Row | undefined, key: string): number | undefined => {
  const v = row?.[key]
  return typeof v === "number" ? v : undefined
}

const throughput5 = (rows: ReadonlyArray<Row>, impl: string) =>
  num(find(rows, { scenario: "throughput", impl, subscribers: 5 }), "eventsPerSec")

const quotient = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? undefined : a / b

/** The worst value of `key` over the scenario's eventfabric rows (`pick` = Math.max or Math.min). */
const worst = (rows: ReadonlyArray<Row>, scenario: string, key: string, pick: (...xs: Array<number>) => number) => {
  const xs = rows
    .filter((r) => r.scenario === scenario && r.impl === "eventfabric")
    .map((r) => num(r, key) ?? Number.NaN)
  return xs.length === 0 ? undefined : pick(...xs)
}

const latency50k = (rows: ReadonlyArray<Row>) =>
  find(rows, { scenario: "latency", impl: "eventfabric", subscribers: 5, rate: 50_000 })

export const specs: ReadonlyArray<TargetSpec> = [
  {
    name: "p95 @ 50k ev/s",
    unit: "us",
    limit: 1000,
    kind: "max",
    strict: true,
    gated: true,
    pick: (rows) => num(latency50k(rows), "p95Us"),
    note: "publish -> handler start, 5 subscriptions, open loop, median of repetitions"
  },
  {
    name: "queue depth p95 @ 50k ev/s",
    unit: "events",
    limit: 100,
    kind: "max",
    strict: true,
    gated: true,
    pick: (rows) => num(latency50k(rows), "depthP95"),
    note: "lanes + mailboxes (+ the producer's backlog), sampled every ms"
  },
  {
    name: "drops below capacity",
    unit: "%",
    limit: 0.1,
    kind: "max",
    strict: true,
    gated: true,
    pick: (rows) => {
      const rates = rows.filter((r) => r.scenario === "latency" && r.impl === "eventfabric")
      if (rates.length === 0) return undefined
      return Math.max(...rates.map((r) => (typeof r.dropRate === "number" ? r.dropRate : Number.NaN))) * 100
    },
    note: "worst drop rate of the latency runs (10k and 50k ev/s), every repetition"
  },
  {
    name: "throughput, 5 subscriptions",
    unit: "ev/s",
    limit: 2_000_000,
    kind: "min",
    strict: false,
    gated: false,
    pick: (rows) => throughput5(rows, "eventfabric")
  },
  {
    name: "throughput, 5 subscriptions / emittery",
    unit: "x",
    limit: 2.4,
    kind: "min",
    strict: false,
    gated: false,
    pick: (rows) => quotient(throughput5(rows, "eventfabric"), throughput5(rows, "emittery"))
  },
  {
    name: "p95 @ 50k ev/s (goal)",
    unit: "us",
    limit: 10,
    kind: "max",
    strict: false,
    gated: false,
    pick: (rows) => num(latency50k(rows), "p95Us"),
    note: "on a quiet machine"
  },
  {
    name: "p99 @ 50k ev/s (goal)",
    unit: "us",
    limit: 50,
    kind: "max",
    strict: false,
    gated: false,
    pick: (rows) => num(latency50k(rows), "p99Us"),
    note: "on a quiet machine"
  },
  {
    name: "capacity at SLO",
    unit: "ev/s",
    limit: 500_000,
    kind: "min",
    strict: false,
    gated: false,
    pick: (rows) => num(find(rows, { scenario: "capacity", impl: "eventfabric" }), "capacity")
  },
  {
    name: "healthy beside a stuck subscriber / alone",
    unit: "x",
    limit: 0.9,
    kind: "min",
    strict: false,
    gated: false,
    pick: (rows) => num(find(rows, { scenario: "stuck", impl: "eventfabric" }), "ratioToAlone"),
    note: "the stuck one with a non-suspending (dropping) mailbox"
  },
  {
    name: "fast p95 beside a 5 ms subscriber / without",
    unit: "x",
    limit: 1.5,
    kind: "max",
    strict: false,
    gated: false,
    pick: (rows) => num(find(rows, { scenario: "isolation", impl: "eventfabric" }), "slowdownP95"),
    note: "the slow one with a non-suspending (dropping) mailbox"
  },
  {
    name: "suspend chain: publisher / consumer rate",
    unit: "x",
    limit: 1.1,
    kind: "max",
    strict: false,
    gated: false,
    pick: (rows) => worst(rows, "chain", "publisherToConsumer", Math.max),
    note: "worst consumer speed; ~1 when backpressure reaches the publisher"
  },
  {
    name: "suspend chain: deliveries lost",
    unit: "events",
    limit: 0,
    kind: "max",
    strict: false,
    gated: false,
    pick: (rows) => worst(rows, "chain", "lost", Math.max)
  },
  {
    name: "no-op delivery middleware / bare",
    unit: "x",
    limit: 0.9,
    kind: "min",
    strict: false,
    gated: false,
    pick: (rows) => num(find(rows, { scenario: "plugins", plugin: "noop delivery" }), "relativeToBare")
  },
  {
    name: "slowest plugin alone / bare",
    unit: "x",
    limit: 0.8,
    kind: "min",
    strict: false,
    gated: false,
    pick: (rows) => {
      const xs = rows
        .filter(
          (r) => r.scenario === "plugins" && !["bare", "full stack", "noop", "noop delivery"].includes(String(r.plugin))
        )
        .map((r) => (typeof r.relativeToBare === "number" ? r.relativeToBare : Number.NaN))
      return xs.length === 0 ? undefined : Math.min(...xs)
    },
    note: "each built-in plugin alone (a skipped one counts as missing)"
  },
  {
    name: "full plugin stack / bare",
    unit: "x",
    limit: 0.5,
    kind: "min",
    strict: false,
    gated: false,
    pick: (rows) => num(find(rows, { scenario: "plugins", plugin: "full stack" }), "relativeToBare")
  },
  {
    name: "reproducibility: 5-sub throughput spread",
    unit: "%",
    limit: 15,
    kind: "max",
    strict: false,
    gated: false,
    pick: (rows) => {
      const r = find(rows, { scenario: "reproducibility" })
      const runs = r?.runs as Array<number> | undefined
      const prev = r?.previous
      // Back-to-back runs of this invocation; else this run against the previous report of the profile.
      const xs = runs !== undefined && runs.length > 1 ? runs : typeof prev === "number" && runs ? [...runs, prev] : []
      return xs.length < 2 ? undefined : (Math.max(...xs) / Math.min(...xs) - 1) * 100
    },
    note: "max / min - 1 over back-to-back runs (--runs=2), or against the previous report; on a quiet machine"
  },
  {
    name: "CRITICAL drops at 2x capacity",
    unit: "events",
    limit: 0,
    kind: "max",
    strict: false,
    gated: false,
    pick: (rows) => num(find(rows, { scenario: "overload", impl: "eventfabric" }), "criticalDropped")
  },
  {
    name: "heap growth after gc",
    unit: "MB",
    limit: 5,
    kind: "max",
    strict: false,
    gated: false,
    pick: (rows) => num(find(rows, { scenario: "memory", impl: "eventfabric" }), "heapGrowthMB"),
    note: "last checkpoint minus the first, after global.gc(): flat means no growth with events"
  },
  {
    name: "peak RSS",
    unit: "MB",
    limit: 200,
    kind: "max",
    strict: false,
    gated: false,
    pick: (rows) => num(find(rows, { scenario: "memory", impl: "eventfabric" }), "peakRssMB")
  }
]
