/**
 * Capacity at the SLO: the highest paced rate (mixed lanes 10/60/30) at which
 * p95 < 1 ms, queue depth p95 < 100 and drops < 0.1%. Rates grow by a factor
 * until one fails; `--full` runs more repetitions per rate and bisects.
 */
import type { Profile } from "../config.ts"
import { eventfabric } from "../impls/eventfabric.ts"
import { mixedLanes, openLoop } from "../loadgen.ts"
import type { Progress } from "../progress.ts"
import type { Row } from "../result.ts"
import { summarize } from "../stats.ts"

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

/** An upper bound: the sweep stops at the first failing rate, so the progress line may end early. */
export const steps = (p: Profile) => {
  const c = p.capacity
  return (Math.ceil(Math.log(c.maxRate / c.startRate) / Math.log(c.factor)) + 1 + c.refine) * c.repsPerRate
}

export const run = async (p: Profile, progress: Progress): Promise<Array<Row>> => {
  const c = p.capacity
  const sweep: Array<Step> = []
  const probe = async (rate: number): Promise<Step> => {
    const reps: Array<Omit<Step, "pass">> = []
    for (let i = 0; i < c.repsPerRate; i++) {
      progress.step(`capacity ${Math.round(rate / 1000)}k ev/s rep ${i + 1}/${c.repsPerRate}`)
      globalThis.gc?.()
      const r = await openLoop(eventfabric, {
        rate,
        durationMs: c.durationMs,
        warmupMs: Math.min(200, c.durationMs / 4),
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
      r.start.destroy()
      r.done.destroy()
      r.sendLag.destroy()
    }
    const m = (k: "p95Us" | "depthP95" | "achievedRate") => summarize(reps.map((x) => x[k])).median
    const s = {
      rate,
      p95Us: m("p95Us"),
      depthP95: m("depthP95"),
      dropRate: Math.max(...reps.map((x) => x.dropRate)),
      achievedRate: m("achievedRate")
    }
    const step = { ...s, pass: meetsSlo(s) }
    sweep.push(step)
    return step
  }
  let rate = c.startRate
  let lastPass = 0
  let firstFail: number | undefined
  while (rate <= c.maxRate) {
    const s = await probe(Math.round(rate))
    if (!s.pass) {
      firstFail = s.rate
      break
    }
    lastPass = s.rate
    rate *= c.factor
  }
  for (let i = 0; i < c.refine && firstFail !== undefined && lastPass > 0; i++) {
    const mid = Math.round((lastPass + firstFail) / 2)
    if ((await probe(mid)).pass) lastPass = mid
    else firstFail = mid
  }
  return [
    {
      scenario: "capacity",
      impl: "eventfabric",
      subscribers: 5,
      lanes: "10/60/30 critical/normal/low",
      capacity: lastPass,
      firstFailingRate: firstFail,
      sweep: [...sweep].sort((a, b) => a.rate - b.rate)
    }
  ]
}
