/**
 * Stuck subscriber: the throughput of 4 healthy subscriptions alone, and
 * beside a fifth whose handler never completes, given a non-suspending
 * mailbox (`dropping` by default). Reported as the ratio beside / alone.
 * Both variants run in the same child (the same implementation), their order
 * alternating by repetition; one child per repetition.
 */
import type { Profile } from "../config.ts"
import type { Mailbox } from "../impls/compat.ts"
import { eventfabric } from "../impls/eventfabric.ts"
import type { Row } from "../result.ts"
import type { Ctx } from "../runner.ts"
import { summarize } from "../stats.ts"
import { aggregate } from "./aggregate.ts"
import { closed, type ThroughputOptions, throughput, throughputOf } from "./closed.ts"

const HEALTHY = 4

interface StuckJob {
  readonly scenario: "stuck"
  readonly stuckFirst: boolean
  readonly throughput: ThroughputOptions
  readonly mailbox: Mailbox
}

interface StuckResult {
  readonly alone: number
  readonly beside: number
  readonly mailboxApplied: string | undefined
  readonly lost: number
}

export const measure = async (job: StuckJob): Promise<StuckResult> => {
  let mailboxApplied: string | undefined
  let lost = 0
  const alone = async () => (await throughputOf(eventfabric, HEALTHY, job.throughput)).eventsPerSec
  const beside = async () => {
    const extra = {
      slow: { index: HEALTHY, ms: Number.POSITIVE_INFINITY },
      slowMailbox: job.mailbox,
      busOptions: { shutdownGrace: 20 }
    }
    const c = await closed(eventfabric, HEALTHY + 1, extra)
    try {
      mailboxApplied = c.instance.mailboxApplied
      return (await throughput(c, job.throughput)).eventsPerSec
    } finally {
      lost = c.instance.counters?.().deliveriesLost ?? 0
      await c.instance.close()
    }
  }
  // Warm the delivery path first, so the first measured variant is not the colder one (the refusal
  // path of `beside` stays cold until it runs; the order alternating per repetition spreads that).
  await throughputOf(eventfabric, HEALTHY, { ...job.throughput, samples: 1 })
  const out: Record<string, number> = {}
  for (const v of job.stuckFirst ? ["beside", "alone"] : ["alone", "beside"]) {
    globalThis.gc?.()
    out[v] = v === "alone" ? await alone() : await beside()
  }
  return { alone: out.alone!, beside: out.beside!, mailboxApplied, lost }
}

export const steps = (p: Profile) => p.stuck.reps

export const run = async (ctx: Ctx): Promise<Array<Row>> => {
  const p = ctx.profile.stuck
  const reps: Array<StuckResult> = []
  for (let rep = 0; rep < p.reps; rep++) {
    const r = await ctx.run<StuckResult>(`stuck subscriber rep ${rep + 1}/${p.reps}`, {
      scenario: "stuck",
      stuckFirst: rep % 2 === 1,
      throughput: p.throughput,
      mailbox: p.mailbox
    } satisfies StuckJob)
    if (r !== undefined) reps.push(r)
  }
  if (reps.length === 0) return []
  const a = aggregate(
    reps.map((r) => ({ alone: r.alone, beside: r.beside, ratio: r.beside / r.alone })),
    ["alone", "beside", "ratio"]
  )
  return [
    {
      scenario: "stuck",
      impl: "eventfabric",
      subscribers: HEALTHY + 1,
      healthy: HEALTHY,
      mailbox: p.mailbox,
      mailboxApplied: reps[0]!.mailboxApplied,
      eventsPerSecAlone: a.alone,
      eventsPerSecBeside: a.beside,
      // The median of the per-child ratios: each child measured both, so machine drift cancels.
      ratioToAlone: a.ratio,
      ratioToAloneMin: a.ratioMin,
      ratioToAloneMax: a.ratioMax,
      stuckDeliveriesLost: summarize(reps.map((r) => r.lost)).median,
      reps: reps.length
    }
  ]
}
