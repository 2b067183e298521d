/**
 * Overload at 2x the measured capacity, mixed lanes 10/60/30, on a bus whose
 * CRITICAL lane suspends, NORMAL drops and LOW slides: CRITICAL must lose
 * nothing, LOW must lose first (the higher share), and every lost event and
 * delivery must show in `bus.stats`.
 */
import type { Stats } from "@eventfabric/core"
import type { Profile } from "../config.ts"
import { deliveriesLost } from "../impls/compat.ts"
import { eventfabric } from "../impls/eventfabric.ts"
import { mixedLanes, openLoop } from "../loadgen.ts"
import type { Row } from "../result.ts"
import type { Ctx } from "../runner.ts"
import { aggregate } from "./aggregate.ts"
import { destroy } from "./suite.ts"

export const busOptions = {
  lanes: {
    critical: { capacity: 1024, strategy: "suspend" },
    normal: { capacity: 8192, strategy: "dropping" },
    low: { capacity: 2048, strategy: "sliding" }
  }
} as const

export interface Accounting {
  readonly sent: number
  readonly published: number
  /** Expected deliveries minus handled ones minus every counted loss: 0 when nothing was lost silently. */
  readonly uncounted: number
}

/** Checks that lost deliveries are all counted in the stats. Pure, for tests. */
export const account = (sent: number, subscribers: number, handled: number, s: Stats.Stats): Accounting => {
  const d = s.deliveries
  const counted =
    (s.dropped + s.evicted + s.queued) * subscribers +
    deliveriesLost(d) +
    d.failed +
    d.timedOut +
    d.interrupted +
    d.rejected +
    d.queued +
    d.inFlight
  return { sent, published: s.published, uncounted: sent * subscribers - handled - counted }
}

export const steps = (_: Profile) => 1

/**
 * 2x capacity; when the SLO capacity could not be measured (a noisy machine
 * fails the SLO at any rate), 2x the closed-loop throughput, the saturation point.
 */
export const overloadRate = (capacity: number, saturation: number): { rate: number; base: string } =>
  capacity > 0
    ? { rate: 2 * capacity, base: "2x capacity at SLO" }
    : { rate: 2 * Math.max(saturation, 50_000), base: "2x closed-loop throughput (no SLO capacity measured)" }

interface OverloadJob {
  readonly scenario: "overload"
  readonly rate: number
  readonly durationMs: number
  readonly reps: number
}

const subscribers = 5

export const measure = async (job: OverloadJob) => {
  const reps: Array<Record<string, number>> = []
  let accountingOk = true
  let lowFirst = true
  for (let i = 0; i < job.reps; i++) {
    globalThis.gc?.()
    const r = await openLoop(eventfabric, {
      rate: job.rate,
      durationMs: job.durationMs,
      warmupMs: 100,
      subscribers,
      lane: mixedLanes,
      busOptions,
      settleMs: 200
    })
    const stats = r.counters?.detail as Stats.Stats
    const handled = r.handledByLane[0] + r.handledByLane[1] + r.handledByLane[2]
    const acc = account(r.sent, subscribers, handled, stats)
    const share = (lost: number, sent: number) => (sent === 0 ? 0 : lost / sent)
    const criticalLoss = share(stats.lanes.critical.dropped + stats.lanes.critical.evicted, r.sentByLane[0])
    const normalLoss = share(stats.lanes.normal.dropped + stats.lanes.normal.evicted, r.sentByLane[1])
    const lowLoss = share(stats.lanes.low.dropped + stats.lanes.low.evicted, r.sentByLane[2])
    if (acc.uncounted !== 0 || acc.published !== acc.sent) accountingOk = false
    if (lowLoss < normalLoss || (normalLoss > 0 && lowLoss === 0)) lowFirst = false
    reps.push({
      criticalDropped: stats.lanes.critical.dropped + stats.lanes.critical.evicted,
      criticalDropRate: criticalLoss,
      normalDropRate: normalLoss,
      lowDropRate: lowLoss,
      deliveriesOverflowed: stats.deliveries.overflowed,
      uncounted: acc.uncounted,
      p95Us: r.start.us(95),
      p99Us: r.start.us(99),
      criticalHandled: r.handledByLane[0] / subscribers,
      achievedRate: r.achievedRate
    })
    destroy(r)
  }
  return { reps, accountingOk, lowFirst }
}

export const run = async (ctx: Ctx): Promise<Array<Row>> => {
  const num = (scenario: string, key: string, match: Record<string, unknown> = {}) => {
    const v = ctx.rows.find(
      (r) => r.scenario === scenario && r.impl === "eventfabric" && Object.entries(match).every(([k, x]) => r[k] === x)
    )?.[key]
    return typeof v === "number" ? v : 0
  }
  const { rate, base } = overloadRate(
    num("capacity", "capacity"),
    num("throughput", "eventsPerSec", { subscribers: 5 })
  )
  const p = ctx.profile.overload
  const r = await ctx.run<Awaited<ReturnType<typeof measure>>>(`overload ${Math.round(rate / 1000)}k ev/s`, {
    scenario: "overload",
    rate,
    durationMs: p.durationMs,
    reps: p.reps
  } satisfies OverloadJob)
  if (r === undefined || r.reps.length === 0) return []
  const a = aggregate(r.reps, Object.keys(r.reps[0]!))
  return [
    {
      scenario: "overload",
      impl: "eventfabric",
      subscribers,
      rate,
      rateBase: base,
      lanes: "10/60/30; critical suspend 1024, normal dropping 8192, low sliding 2048",
      ...a,
      criticalDropped: Math.max(...r.reps.map((x) => x.criticalDropped!)),
      uncountedMax: Math.max(...r.reps.map((x) => Math.abs(x.uncounted!))),
      lowDropsFirst: r.lowFirst,
      everyDropCounted: r.accountingOk
    }
  ]
}
