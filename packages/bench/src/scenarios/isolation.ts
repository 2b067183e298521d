/**
 * Slow-subscriber isolation at a paced rate: the 4 fast subscribers' latency
 * alone, then beside a fifth whose handler waits 5 ms (eventfabric gives it a
 * non-suspending mailbox, `dropping` by default: isolation is the explicit
 * choice). One child per implementation per repetition runs both variants,
 * their order alternating.
 */
import { type Profile, rotate } from "../config.ts"
import type { Mailbox } from "../impls/compat.ts"
import { byName } from "../impls/index.ts"
import { openLoop } from "../loadgen.ts"
import type { Row } from "../result.ts"
import type { Ctx } from "../runner.ts"
import { aggregate, ratios } from "./aggregate.ts"
import { destroy } from "./suite.ts"

const FAST = 4
const keys = ["p50Us", "p95Us", "p99Us", "maxUs", "dropRate", "depthP95"] as const
const IMPLS = ["eventfabric", "node:events", "effect-pubsub", "naive-bus"]

interface IsolationJob {
  readonly scenario: "isolation"
  readonly impl: string
  readonly slowFirst: boolean
  readonly rate: number
  readonly durationMs: number
  readonly slowMs: number
  readonly mailbox: Mailbox
}

type Figures = Record<string, number | undefined>

interface IsolationResult {
  readonly without: Figures
  readonly with: Figures
  readonly mailboxApplied: string | undefined
}

export const measure = async (job: IsolationJob): Promise<IsolationResult> => {
  const impl = byName(job.impl)
  let mailboxApplied: string | undefined
  const once = async (withSlow: boolean, durationMs: number): Promise<Figures> => {
    globalThis.gc?.()
    const r = await openLoop(impl, {
      rate: job.rate,
      durationMs,
      warmupMs: Math.min(100, durationMs / 4),
      subscribers: withSlow ? FAST + 1 : FAST,
      slow: withSlow ? { index: FAST, ms: job.slowMs } : undefined,
      slowMailbox: withSlow ? job.mailbox : undefined,
      // Short shutdown grace: the slow subscriber's mailbox is not worth waiting for at close.
      busOptions: { shutdownGrace: 50 },
      maxSettleMs: 300,
      onInstance: (i) => {
        if (withSlow) mailboxApplied = i.mailboxApplied
      }
    })
    const f = {
      p50Us: r.start.us(50),
      p95Us: r.start.us(95),
      p99Us: r.start.us(99),
      maxUs: r.start.maxUs,
      dropRate: r.dropRate,
      depthP95: r.depthP95
    }
    destroy(r)
    return f
  }
  await once(true, 100) // warm-up of both paths
  const out: Record<string, Figures> = {}
  for (const withSlow of job.slowFirst ? [true, false] : [false, true]) {
    out[String(withSlow)] = await once(withSlow, job.durationMs)
  }
  return { without: out.false!, with: out.true!, mailboxApplied }
}

export const steps = (p: Profile) => IMPLS.length * p.isolation.reps

export const run = async (ctx: Ctx): Promise<Array<Row>> => {
  const p = ctx.profile.isolation
  const results = new Map<string, Array<IsolationResult>>(IMPLS.map((i) => [i, []]))
  for (let rep = 0; rep < p.reps; rep++) {
    for (const impl of rotate(IMPLS, rep)) {
      const r = await ctx.run<IsolationResult>(`isolation ${impl} rep ${rep + 1}/${p.reps}`, {
        scenario: "isolation",
        impl,
        slowFirst: rep % 2 === 1,
        rate: p.rate,
        durationMs: p.durationMs,
        slowMs: p.slowMs,
        mailbox: p.mailbox
      } satisfies IsolationJob)
      if (r !== undefined) results.get(impl)!.push(r)
    }
  }
  const group = IMPLS.filter((i) => results.get(i)!.length > 0).map((impl) => {
    const rs = results.get(impl)!
    const without = aggregate(
      rs.map((r) => r.without),
      keys
    )
    const withSlow = aggregate(
      rs.map((r) => r.with),
      keys
    )
    // Per-child slowdown, then the median: both variants ran in the same process.
    const slowdown = aggregate(
      rs.map((r) => ({ s: (r.with.p95Us ?? Number.NaN) / (r.without.p95Us ?? Number.NaN) })),
      ["s"]
    )
    return {
      scenario: "isolation",
      impl,
      subscribers: FAST + 1,
      rate: p.rate,
      slowHandlerMs: p.slowMs,
      mailbox: impl === "eventfabric" ? p.mailbox : undefined,
      mailboxApplied: impl === "eventfabric" ? rs[0]!.mailboxApplied : undefined,
      p95Us: withSlow.p95Us,
      p95UsWithout: without.p95Us,
      p99Us: withSlow.p99Us,
      p99UsWithout: without.p99Us,
      slowdownP95: slowdown.s,
      slowdownP95Min: slowdown.sMin,
      slowdownP95Max: slowdown.sMax,
      fastDropRate: withSlow.dropRate,
      without,
      withSlow
    }
  })
  const r = ratios(group, "p95Us")
  return group.map((row) => (row.impl === "eventfabric" ? { ...row, ratioToPeers: r } : row))
}
