/**
 * Memory: each implementation in its own child over the same closed-loop
 * work (5 subscriptions); heap after gc at evenly spaced checkpoints (flat
 * means no growth with events) and the process's peak RSS.
 */
import type { Profile } from "../config.ts"
import { byName } from "../impls/index.ts"
import type { Row } from "../result.ts"
import type { Ctx } from "../runner.ts"
import { closed } from "./closed.ts"

interface MemoryJob {
  readonly scenario: "memory"
  readonly impl: string
  readonly events: number
  readonly checkpoints: number
}

const BATCH = 5000
const mb = (bytes: number) => bytes / 1024 / 1024

export const measure = async (job: MemoryJob) => {
  const gc = globalThis.gc
  if (gc === undefined) throw new Error("run with --expose-gc")
  const checkpoints = Math.max(2, job.checkpoints)
  const c = await closed(byName(job.impl), 5)
  await c.run(BATCH) // warm-up
  gc()
  const heap: Array<number> = [mb(process.memoryUsage().heapUsed)]
  const per = Math.ceil(job.events / (checkpoints - 1) / BATCH) * BATCH
  const started = performance.now()
  let sent = 0
  for (let k = 1; k < checkpoints; k++) {
    for (let i = 0; i < per; i += BATCH) await c.run(BATCH)
    sent += per
    gc()
    heap.push(mb(process.memoryUsage().heapUsed))
  }
  const seconds = (performance.now() - started) / 1000
  await c.instance.close()
  return { events: sent, heapMB: heap, peakRssMB: process.resourceUsage().maxRSS / 1024, eventsPerSec: sent / seconds }
}

/** Least-squares slope of the heap checkpoints, MB per million events: ~0 when flat. */
export const slopePerMillion = (heapMB: ReadonlyArray<number>, events: number): number => {
  const n = heapMB.length
  if (n < 2 || events <= 0) return Number.NaN
  const xs = heapMB.map((_, i) => (i * events) / (n - 1) / 1e6)
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = heapMB.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (heapMB[i]! - my)
    den += (xs[i]! - mx) ** 2
  }
  return num / den
}

export const steps = (p: Profile) => p.memory.impls.length

export const run = async (ctx: Ctx): Promise<Array<Row>> => {
  const p = ctx.profile.memory
  const rows: Array<Row> = []
  for (const impl of p.impls) {
    const events = impl === "eventfabric" ? p.events : p.peerEvents
    const r = await ctx.run<Awaited<ReturnType<typeof measure>>>(
      `memory ${impl} ${events.toLocaleString("en")} events`,
      { scenario: "memory", impl, events, checkpoints: p.checkpoints } satisfies MemoryJob,
      ctx.profile.name === "full" ? 300_000 : 60_000
    )
    if (r === undefined) {
      rows.push({ scenario: "memory", impl, error: "child failed (see notes)" })
      continue
    }
    const heap = r.heapMB
    rows.push({
      scenario: "memory",
      impl,
      subscribers: 5,
      events: r.events,
      heapStartMB: heap[0],
      heapEndMB: heap[heap.length - 1],
      heapGrowthMB: heap[heap.length - 1]! - heap[0]!,
      heapSpreadMB: Math.max(...heap) - Math.min(...heap),
      heapSlopeMBPerMillion: slopePerMillion(heap, r.events),
      heapMB: heap,
      peakRssMB: r.peakRssMB,
      eventsPerSec: r.eventsPerSec
    })
  }
  return rows
}
