/**
 * The report's tables, built once from the rows and rendered as plain text
 * (stdout) or markdown (latest.md).
 */
import type { Row, Target } from "../result.ts"
import { fmt, pct, range, times } from "./format.ts"

export interface Section {
  readonly title: string
  readonly header: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
}

/** The mailbox a scenario asked for, and how this core applied it. */
const mailboxText = (r: Row): string => {
  const m = r.mailbox as { capacity?: number; strategy?: string } | undefined
  if (m === undefined) return "default"
  const asked = `${m.strategy ?? "default strategy"}, capacity ${m.capacity ?? "default"}`
  return r.mailboxApplied === "capacity only" ? `${asked}; this core applied the capacity only` : asked
}

const of = (rows: ReadonlyArray<Row>, scenario: string) => rows.filter((r) => r.scenario === scenario)
const ratioTo = (rows: ReadonlyArray<Row>, impl: string, key: string, match: (r: Row) => boolean) => {
  const ours = rows.find((r) => r.impl === "eventfabric" && match(r))?.[key]
  const theirs = rows.find((r) => r.impl === impl && match(r))?.[key]
  return typeof ours === "number" && typeof theirs === "number" && theirs !== 0 ? ours / theirs : Number.NaN
}

export const sections = (rows: ReadonlyArray<Row>, targets: ReadonlyArray<Target>): Array<Section> => {
  const out: Array<Section> = []
  const tp = of(rows, "throughput")
  if (tp.length > 0) {
    const impls = [...new Set(tp.map((r) => r.impl))]
    out.push({
      title:
        "Throughput, closed loop (events/s: median (min-max) over child processes; per CPU-s: events per second of the child's CPU time; eventfabric / peer)",
      header: ["impl", "1 sub", "5 subs", "5 subs per CPU-s", "ef/peer 1 sub", "ef/peer 5 subs"],
      rows: impls.map((impl) => {
        const one = tp.find((r) => r.impl === impl && r.subscribers === 1)
        const five = tp.find((r) => r.impl === impl && r.subscribers === 5)
        return [
          impl,
          range(one, "eventsPerSec"),
          range(five, "eventsPerSec"),
          fmt(five?.eventsPerCpuSec),
          impl === "eventfabric" ? "" : times(ratioTo(tp, impl, "eventsPerSec", (r) => r.subscribers === 1)),
          impl === "eventfabric" ? "" : times(ratioTo(tp, impl, "eventsPerSec", (r) => r.subscribers === 5))
        ]
      })
    })
  }
  const lat = of(rows, "latency")
  for (const rate of [...new Set(lat.map((r) => r.rate as number))]) {
    const group = lat.filter((r) => r.rate === rate)
    out.push({
      title: `Latency at ${fmt(rate)} ev/s, 5 subs, open loop (us from intended send; median of reps (min-max))`,
      header: [
        "impl",
        "p50",
        "p95",
        "p99",
        "p99.9",
        "max",
        "done p95",
        "depth p95",
        "drops",
        "gen lag p95",
        "ef/peer p95"
      ],
      rows: group.map((r) => [
        r.impl,
        fmt(r.p50Us),
        range(r, "p95Us"),
        range(r, "p99Us"),
        fmt(r.p999Us),
        fmt(r.maxUs),
        fmt(r.doneP95Us),
        fmt(r.depthP95),
        pct(r.dropRate),
        fmt(r.sendLagP95Us),
        r.impl === "eventfabric" ? "" : times(ratioTo(group, r.impl, "p95Us", () => true))
      ])
    })
  }
  const iso = of(rows, "isolation")
  if (iso.length > 0) {
    out.push({
      title: `Slow-subscriber isolation at ${fmt(iso[0]!.rate)} ev/s: the 4 fast subscribers' latency (us), without / with a ${iso[0]!.slowHandlerMs} ms subscriber (eventfabric: its mailbox ${mailboxText(iso.find((r) => r.impl === "eventfabric") ?? iso[0]!)})`,
      header: [
        "impl",
        "p95 without",
        "p95 with",
        "slowdown (per-child median)",
        "p99 without",
        "p99 with",
        "fast drops"
      ],
      rows: iso.map((r) => [
        r.impl,
        fmt(r.p95UsWithout),
        fmt(r.p95Us),
        times(r.slowdownP95),
        fmt(r.p99UsWithout),
        fmt(r.p99Us),
        pct(r.fastDropRate)
      ])
    })
  }
  const stuck = of(rows, "stuck")[0]
  if (stuck !== undefined) {
    out.push({
      title: `Stuck subscriber: ${stuck.healthy} healthy subscriptions' throughput beside one that never completes (its mailbox ${mailboxText(stuck)}), closed loop`,
      header: ["alone ev/s", "beside stuck ev/s", "ratio to alone", "stuck deliveries refused"],
      rows: [
        [
          fmt(stuck.eventsPerSecAlone),
          fmt(stuck.eventsPerSecBeside),
          `${times(stuck.ratioToAlone)} (${times(stuck.ratioToAloneMin)}-${times(stuck.ratioToAloneMax)})`,
          fmt(stuck.stuckDeliveriesLost, 0)
        ]
      ]
    })
  }
  const chain = of(rows, "chain")
  if (chain.length > 0) {
    out.push({
      title: `Suspend chain: one slow subscriber on a suspend lane (${chain[0]!.lane}), mailbox ${mailboxText(chain[0]!)}; the publisher offers as fast as the bus takes`,
      header: ["consumer waits", "consumer ev/s", "publisher ev/s", "publisher / consumer", "lost"],
      rows: chain.map((r) => [
        `${r.consumerMs} ms`,
        fmt(r.consumerRate),
        fmt(r.publisherRate),
        times(r.publisherToConsumer),
        fmt(r.lost, 0)
      ])
    })
  }
  const cap = of(rows, "capacity")[0]
  if (cap !== undefined) {
    const sweep = (cap.sweep as Array<Record<string, number | boolean>>) ?? []
    out.push({
      title: `Capacity at SLO (p95 < 1 ms, depth p95 < 100, drops < 0.1%; lanes 10/60/30; steps <= ${cap.resolution ?? "-"}x near it): ${fmt(cap.capacity)} ev/s`,
      header: ["rate", "p95 us", "depth p95", "drops", "achieved rate", "pass"],
      rows: sweep.map((s) => [
        fmt(s.rate),
        fmt(s.p95Us),
        fmt(s.depthP95),
        pct(s.dropRate),
        fmt(s.achievedRate),
        s.pass ? "yes" : "NO"
      ])
    })
  }
  const ov = of(rows, "overload")[0]
  if (ov !== undefined) {
    out.push({
      title: `Overload at ${fmt(ov.rate)} ev/s (${ov.rateBase}; ${ov.lanes})`,
      header: [
        "critical lost",
        "normal drop rate",
        "low drop rate",
        "mailbox overflows",
        "LOW first",
        "every drop counted",
        "p95 us"
      ],
      rows: [
        [
          String(ov.criticalDropped),
          pct(ov.normalDropRate),
          pct(ov.lowDropRate),
          fmt(ov.deliveriesOverflowed),
          ov.lowDropsFirst ? "yes" : "NO",
          ov.everyDropCounted ? "yes" : `NO (${ov.uncountedMax} uncounted)`,
          fmt(ov.p95Us)
        ]
      ]
    })
  }
  const pl = of(rows, "plugins")
  if (pl.length > 0) {
    out.push({
      title:
        "Plugin overhead (5 subs, closed loop; a child process per variant per repetition; ratio to bare of the same run)",
      header: ["plugins", "events/s", "vs bare", "vs bare (CPU time)", "added ns/event"],
      rows: pl.map((r) =>
        r.skipped !== undefined
          ? [String(r.plugin), "skipped", "", "", String(r.skipped).slice(0, 60)]
          : [
              String(r.plugin),
              range(r, "eventsPerSec"),
              times(r.relativeToBare),
              times(r.relativeToBareCpu),
              fmt(r.addedNsPerEvent, 0)
            ]
      )
    })
  }
  const red = of(rows, "redaction")
  if (red.length > 0) {
    out.push({
      title: "Redaction: the egress filter per typical order payload (a child process per repetition)",
      header: ["payload", "µs per payload (median)", "min", "max"],
      rows: red.map((r) => [
        r.payload === "clean" ? "nothing to mask (12 strings)" : "email, phone, password in text",
        fmt(r.usPerPayload, 2),
        fmt(r.min, 2),
        fmt(r.max, 2)
      ])
    })
  }
  const mem = of(rows, "memory")
  if (mem.length > 0) {
    out.push({
      title: "Memory (a child process each, 5 subs, closed loop; heap after gc at each checkpoint)",
      header: [
        "impl",
        "events",
        "heap start MB",
        "heap end MB",
        "growth MB",
        "slope MB/1M ev",
        "peak RSS MB",
        "events/s"
      ],
      rows: mem.map((r) =>
        r.error !== undefined
          ? [r.impl, "error", "", "", "", "", "", String(r.error).slice(0, 50)]
          : [
              r.impl,
              fmt(r.events),
              fmt(r.heapStartMB),
              fmt(r.heapEndMB),
              fmt(r.heapGrowthMB, 2),
              fmt(r.heapSlopeMBPerMillion, 2),
              fmt(r.peakRssMB),
              fmt(r.eventsPerSec)
            ]
      )
    })
  }
  const repro = of(rows, "reproducibility")[0]
  if (repro !== undefined) {
    const runs = (repro.runs as Array<number>) ?? []
    out.push({
      title: `Reproducibility: ${repro.metric}, back-to-back runs (tolerance ±15%)`,
      header: [
        "runs in this invocation",
        "spread (max/min - 1)",
        "per CPU-s runs",
        "per CPU-s spread",
        "previous report",
        "this / previous"
      ],
      rows: [
        [
          runs.map((x) => fmt(x)).join(", "),
          typeof repro.spread === "number" && Number.isFinite(repro.spread) ? pct(repro.spread) : "- (one run)",
          ((repro.runsCpu as Array<number>) ?? []).map((x) => fmt(x)).join(", "),
          typeof repro.spreadCpu === "number" && Number.isFinite(repro.spreadCpu) ? pct(repro.spreadCpu) : "-",
          repro.previous === undefined ? "-" : `${fmt(repro.previous)} (${String(repro.previousDate)})`,
          times(repro.ratioToPrevious)
        ]
      ]
    })
  }
  out.push({
    title: "Targets (gated ones fail the run)",
    header: ["target", "value", "limit", "kind", "result"],
    rows: targets.map((t) => [
      t.name,
      `${fmt(t.value, 2)} ${t.unit}`,
      `${t.kind === "max" ? (t.strict ? "<" : "<=") : t.strict ? ">" : ">="} ${fmt(t.limit)} ${t.unit}`,
      t.gated ? "gated" : "goal",
      t.pass ? "pass" : t.gated ? "FAIL" : "missed"
    ])
  })
  return out
}
