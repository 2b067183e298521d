/**
 * Throughput (closed loop, 1 and 5 subscriptions) and latency (open loop at
 * paced rates, 5 subscriptions) for the bus and every peer. One child process
 * per implementation per repetition, implementations rotated each
 * repetition; each figure is the median over repetitions, with the range.
 */

import type { LatencyOptions, Profile } from "../config.ts"
import { rotate } from "../config.ts"
import { byName } from "../impls/index.ts"
import { type OpenLoopResult, openLoop } from "../loadgen.ts"
import type { Row } from "../result.ts"
import type { Ctx } from "../runner.ts"
import { aggregate, ratios } from "./aggregate.ts"
import { closed, type Rate, type ThroughputOptions, throughputOf } from "./closed.ts"

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

export const destroy = (r: OpenLoopResult): void => {
  r.start.destroy()
  r.done.destroy()
  r.sendLag.destroy()
}

interface SuiteJob {
  readonly scenario: "suite"
  readonly impl: string
  readonly throughput: ThroughputOptions
  readonly latency: LatencyOptions
}

interface SuiteResult {
  readonly throughput: Record<string, Rate>
  readonly latency: Record<string, Record<string, number | undefined>>
}

const SUBSCRIBERS = [1, 5] as const

/** Child side: warm up, then throughput at 1 and 5 subscriptions, then latency at each rate. */
export const measure = async (job: SuiteJob): Promise<SuiteResult> => {
  const impl = byName(job.impl)
  const warm = await closed(impl, 5)
  for (let i = 0; i < 5; i++) await warm.run(job.throughput.batch)
  await warm.instance.close()
  destroy(await openLoop(impl, { rate: 20_000, durationMs: 100, warmupMs: 0, subscribers: 5 }))
  const throughput: Record<string, Rate> = {}
  for (const n of SUBSCRIBERS) {
    globalThis.gc?.()
    throughput[n] = await throughputOf(impl, n, job.throughput)
  }
  const latency: Record<string, Record<string, number | undefined>> = {}
  for (const rate of job.latency.rates) {
    globalThis.gc?.()
    const r = await openLoop(impl, {
      rate,
      subscribers: 5,
      durationMs: job.latency.durationMs,
      warmupMs: job.latency.warmupMs
    })
    latency[rate] = figures(r)
    destroy(r)
  }
  return { throughput, latency }
}

export const steps = (p: Profile, impls: number) => p.suite.reps * impls

/** Parent side: plans the interleaved children, folds their results into throughput and latency rows. */
export const run = async (ctx: Ctx): Promise<Array<Row>> => {
  const p = ctx.profile.suite
  const results = new Map<string, Array<SuiteResult>>(ctx.impls.map((i) => [i, []]))
  for (let rep = 0; rep < p.reps; rep++) {
    for (const impl of rotate(ctx.impls, rep)) {
      const r = await ctx.run<SuiteResult>(`suite ${impl} rep ${rep + 1}/${p.reps}`, {
        scenario: "suite",
        impl,
        throughput: p.throughput,
        latency: p.latency
      } satisfies SuiteJob)
      if (r !== undefined) results.get(impl)!.push(r)
    }
  }
  const rows: Array<Row> = []
  const measured = ctx.impls.filter((i) => results.get(i)!.length > 0)
  for (const subscribers of SUBSCRIBERS) {
    const group = measured.map((impl) => ({
      scenario: "throughput",
      impl,
      subscribers,
      ...aggregate(
        results.get(impl)!.map((r) => ({ ...r.throughput[subscribers]! })),
        ["eventsPerSec", "eventsPerCpuSec"]
      ),
      perRep: results.get(impl)!.map((r) => r.throughput[subscribers]!.eventsPerSec)
    }))
    const r = ratios(group, "eventsPerSec")
    for (const row of group) rows.push(row.impl === "eventfabric" ? { ...row, ratioToPeers: r } : row)
  }
  for (const rate of p.latency.rates) {
    const group = measured.map((impl) => {
      const reps = results.get(impl)!.map((r) => r.latency[rate]!)
      return {
        scenario: "latency",
        impl,
        subscribers: 5,
        rate,
        ...aggregate(reps, latencyKeys),
        // The worst repetition's drop rate: a drop in any run counts.
        dropRate: Math.max(...reps.map((x) => x.dropRate ?? 0))
      }
    })
    const r = { p95Us: ratios(group, "p95Us"), p99Us: ratios(group, "p99Us") }
    for (const row of group) rows.push(row.impl === "eventfabric" ? { ...row, ratioToPeers: r } : row)
  }
  return rows
}
