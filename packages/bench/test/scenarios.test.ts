import { describe, expect, it } from "vitest"
import { quick } from "../src/config.ts"
import { Progress } from "../src/progress.ts"
import type { Row } from "../src/result.ts"
import type { Ctx, Job } from "../src/runner.ts"
import * as plugins from "../src/scenarios/plugins.ts"
import * as stuck from "../src/scenarios/stuck.ts"
import * as suite from "../src/scenarios/suite.ts"

/** A parent context whose children answer from `answer` instead of running: the planning and folding alone. */
const fakeCtx = (answer: (job: Job, k: number) => unknown, impls: ReadonlyArray<string> = []) => {
  const jobs: Array<Job> = []
  const ctx: Ctx = {
    profile: quick,
    progress: Object.assign(Object.create(Progress.prototype), { step: () => undefined, note: () => undefined }),
    notes: [],
    rows: [] as Array<Row>,
    impls,
    run: async <A>(_: string, job: Job) => {
      jobs.push(job)
      return answer(job, jobs.length - 1) as A | undefined
    }
  }
  return { ctx, jobs }
}

describe("suite scenario", () => {
  it("gives each implementation its own child per repetition, each repetition starting with a different one", async () => {
    const rate = { eventsPerSec: 1, eventsPerCpuSec: 2 }
    const { ctx, jobs } = fakeCtx(
      () => ({ throughput: { 1: rate, 5: rate }, latency: { 10000: {}, 50000: {} } }),
      ["a", "b", "c"]
    )
    await suite.run({ ...ctx, profile: { ...quick, suite: { ...quick.suite, reps: 3 } } })
    expect(jobs.map((j) => j.impl)).toEqual(["a", "b", "c", "b", "c", "a", "c", "a", "b"])
  })

  it("reports the median over children, with the range", async () => {
    const tp = [100, 300, 200]
    const { ctx } = fakeCtx(
      (_, k) => ({
        throughput: {
          1: { eventsPerSec: tp[k]!, eventsPerCpuSec: 0 },
          5: { eventsPerSec: tp[k]!, eventsPerCpuSec: 0 }
        },
        latency: { 10000: { p95Us: tp[k]!, dropRate: 0 }, 50000: { p95Us: tp[k]!, dropRate: k === 1 ? 0.01 : 0 } }
      }),
      ["eventfabric"]
    )
    const rows = await suite.run({ ...ctx, profile: { ...quick, suite: { ...quick.suite, reps: 3 } } })
    const five = rows.find((r) => r.scenario === "throughput" && r.subscribers === 5)!
    expect(five).toMatchObject({ eventsPerSec: 200, eventsPerSecMin: 100, eventsPerSecMax: 300 })
    // a drop in any repetition counts
    expect(rows.find((r) => r.scenario === "latency" && r.rate === 50000)!.dropRate).toBe(0.01)
  })
})

describe("plugin overhead scenario", () => {
  it("gives every variant its ratio to bare, in wall and in CPU time, and reports a skipped plugin", async () => {
    const { ctx } = fakeCtx((job) =>
      job.variant === "Audit"
        ? { skipped: "no file system" }
        : job.variant === "bare"
          ? { eventsPerSec: 1000, eventsPerCpuSec: 2000 }
          : { eventsPerSec: 500, eventsPerCpuSec: 1500 }
    )
    const rows = await plugins.run(ctx)
    expect(rows.map((r) => r.plugin)).toEqual(plugins.variants)
    const noop = rows.find((r) => r.plugin === "noop delivery")!
    expect(noop.relativeToBare).toBe(0.5)
    expect(noop.relativeToBareCpu).toBe(0.75)
    expect(rows.find((r) => r.plugin === "Audit")!.skipped).toBe("no file system")
    expect(ctx.notes.some((n) => n.includes("Audit"))).toBe(true)
  })
})

describe("stuck subscriber scenario", () => {
  it("reports the median of the per-child ratios beside / alone and alternates which runs first", async () => {
    const answers = [
      { alone: 100, beside: 90 },
      { alone: 200, beside: 100 },
      { alone: 100, beside: 80 }
    ]
    const { ctx, jobs } = fakeCtx((_, k) => ({ ...answers[k]!, mailboxApplied: "strategy", lost: 5 }))
    const [row] = await stuck.run({ ...ctx, profile: { ...quick, stuck: { ...quick.stuck, reps: 3 } } })
    expect(row!.ratioToAlone).toBeCloseTo(0.8, 9)
    expect(row!.ratioToAloneMin).toBeCloseTo(0.5, 9)
    expect(jobs.map((j) => j.stuckFirst)).toEqual([false, true, false])
  })
})
