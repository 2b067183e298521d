/**
 * Latency at paced rates, open loop, 5 subscriptions: publish -> handler start
 * and publish -> handler done, measured from the intended send time.
 * Implementations interleaved, fresh instance per run.
 */
import { type Profile, rotate } from "../config.ts"
import type { Impl } from "../impls/types.ts"
import { type OpenLoopResult, openLoop } from "../loadgen.ts"
import type { Progress } from "../progress.ts"
import type { Row } from "../result.ts"
import { aggregate, ratios } from "./aggregate.ts"

export const latencyKeys = [
  "p50Us",
  "p95Us",
  "p99Us",
  "p999Us",
  "maxUs",
  "doneP50Us",
  "doneP95Us",
  "doneP99Us",
  "dropRate",
  "depthP95",
  "sendLagP95Us",
  "achievedRate"
] as const

/** One run's figures, in the shape of a latency row. */
export const figures = (r: OpenLoopResult): Record<string, number | undefined> => ({
  p50Us: r.start.us(50),
  p95Us: r.start.us(95),
  p99Us: r.start.us(99),
  p999Us: r.start.us(99.9),
  maxUs: r.start.maxUs,
  doneP50Us: r.done.us(50),
  doneP95Us: r.done.us(95),
  doneP99Us: r.done.us(99),
  dropRate: r.dropRate,
  depthP95: r.depthP95,
  sendLagP95Us: r.sendLag.us(95),
  achievedRate: r.achievedRate
})

export const steps = (impls: ReadonlyArray<Impl>, p: Profile) => impls.length * p.latency.rates.length * p.reps

export const run = async (impls: ReadonlyArray<Impl>, p: Profile, progress: Progress): Promise<Array<Row>> => {
  const subscribers = 5
  const reps = new Map<string, Array<Record<string, number | undefined>>>()
  for (let rep = 0; rep < p.reps; rep++) {
    for (const rate of p.latency.rates) {
      for (const impl of rotate(impls, rep)) {
        progress.step(`latency ${impl.name} ${rate / 1000}k ev/s rep ${rep + 1}/${p.reps}`)
        globalThis.gc?.()
        const r = await openLoop(impl, {
          rate,
          subscribers,
          durationMs: p.latency.durationMs,
          warmupMs: p.latency.warmupMs
        })
        const key = `${impl.name}@${rate}`
        if (!reps.has(key)) reps.set(key, [])
        reps.get(key)!.push(figures(r))
        r.start.destroy()
        r.done.destroy()
        r.sendLag.destroy()
      }
    }
  }
  const rows: Array<Row> = []
  for (const rate of p.latency.rates) {
    const group = impls.map((impl) => ({
      scenario: "latency",
      impl: impl.name,
      subscribers,
      rate,
      ...aggregate(reps.get(`${impl.name}@${rate}`)!, latencyKeys),
      // The worst repetition's drop rate: a drop in any run counts.
      dropRate: Math.max(...reps.get(`${impl.name}@${rate}`)!.map((x) => x.dropRate ?? 0))
    }))
    const r = { p95Us: ratios(group, "p95Us"), p99Us: ratios(group, "p99Us") }
    for (const row of group) rows.push(row.impl === "eventfabric" ? { ...row, ratioToPeers: r } : row)
  }
  return rows
}
