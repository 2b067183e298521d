/**
 * Capacity at the SLO: the highest paced rate (mixed lanes 10/60/30) at which
 * p95 < 1 ms, queue depth p95 < 100 and drops < 0.1%. The sweep doubles until
 * a rate fails, then climbs again from the last passing rate in steps of
 * `factor` (<= 1.25x) up to the failing one, so the figure is never more than
 * one such step below the true capacity. The whole sweep runs in one child.
 */
import type { Profile } from "../config.ts"
import { eventfabric } from "../impls/eventfabric.ts"
import { mixedLanes, openLoop } from "../loadgen.ts"
import type { Row } from "../result.ts"
import type { Ctx } from "../runner.ts"
import { summarize } from "../stats.ts"
import { destroy } from "./suite.ts"

export interface Step {
  readonly rate: number
  readonly p95Us: number
  readonly depthP95: number
  readonly dropRate: number
  readonly achievedRate: number
  readonly pass: boolean
}

/** The SLO a rate must meet to count as within capacity. */
export const meetsSlo = (s: { readonly p95Us: number; readonly depthP95: number; readonly dropRate: number }) =>
  s.p95Us < 1000 && s.depthP95 < 100 && s.dropRate < 0.001

export interface SweepOptions {
  readonly startRate: number
  readonly coarseFactor: number
  readonly factor: number
  readonly maxRate: number
}

/**
 * The sweep's logic, apart from measuring: coarse growth to bracket the
 * capacity, then fine steps from the last pass. Returns the capacity (0 when
 * even the start rate fails), the first failing rate and every step probed.
 */
export const sweep = async (
  o: SweepOptions,
  probe: (rate: number) => Promise<Step>
): Promise<{ capacity: number; firstFailingRate: number | undefined; steps: Array<Step> }> => {
  const steps: Array<Step> = []
  const at = async (rate: number) => {
    const s = await probe(Math.round(rate))
    steps.push(s)
    return s
  }
  let lastPass = 0
  let firstFail: number | undefined
  for (let rate = o.startRate; rate <= o.maxRate; rate *= o.coarseFactor) {
    const s = await at(rate)
    if (!s.pass) {
      firstFail = s.rate
      break
    }
    lastPass = s.rate
  }
  if (lastPass > 0 && firstFail !== undefined) {
    for (let rate = lastPass * o.factor; Math.round(rate) < firstFail; rate *= o.factor) {
      const s = await at(rate)
      if (!s.pass) {
        firstFail = s.rate
        break
      }
      lastPass = s.rate
    }
  }
  return { capacity: lastPass, firstFailingRate: firstFail, steps: steps.sort((a, b) => a.rate - b.rate) }
}

interface CapacityJob extends SweepOptions {
  readonly scenario: "capacity"
  readonly durationMs: number
  readonly repsPerRate: number
}

export const measure = async (job: CapacityJob) => {
  // Warm up at a low and a high rate, so the optimizing compiler's work is not inside the first probes.
  destroy(await openLoop(eventfabric, { rate: 20_000, durationMs: 100, warmupMs: 0, subscribers: 5, lane: mixedLanes }))
  destroy(
    await openLoop(eventfabric, { rate: 100_000, durationMs: 200, warmupMs: 0, subscribers: 5, lane: mixedLanes })
  )
  return sweep(job, async (rate) => {
    const reps: Array<Omit<Step, "pass">> = []
    for (let i = 0; i < job.repsPerRate; i++) {
      globalThis.gc?.()
      const r = await openLoop(eventfabric, {
        rate,
        durationMs: job.durationMs,
        warmupMs: Math.min(200, job.durationMs / 4),
        subscribers: 5,
        lane: mixedLanes
      })
      reps.push({
        rate,
        p95Us: r.start.us(95),
        depthP95: r.depthP95 ?? 0,
        dropRate: r.dropRate,
        achievedRate: r.achievedRate
      })
      destroy(r)
    }
    const m = (k: "p95Us" | "depthP95" | "achievedRate") => summarize(reps.map((x) => x[k])).median
    const s = {
      rate,
      p95Us: m("p95Us"),
      depthP95: m("depthP95"),
      dropRate: Math.max(...reps.map((x) => x.dropRate)),
      achievedRate: m("achievedRate")
    }
    return { ...s, pass: meetsSlo(s) }
  })
}

export const steps = (_: Profile) => 1

export const run = async (ctx: Ctx): Promise<Array<Row>> => {
  const c = ctx.profile.capacity
  const r = await ctx.run<Awaited<ReturnType<typeof measure>>>(
    "capacity sweep",
    { scenario: "capacity", ...c } satisfies CapacityJob,
    180_000
  )
  if (r === undefined) return []
  return [
    {
      scenario: "capacity",
      impl: "eventfabric",
      subscribers: 5,
      lanes: "10/60/30 critical/normal/low",
      capacity: r.capacity,
      firstFailingRate: r.firstFailingRate,
      resolution: c.factor,
      sweep: r.steps
    }
  ]
}
