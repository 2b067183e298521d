/**
 * Throughput, closed loop, through tinybench: one op publishes a batch and
 * waits until every subscriber handled every event. Each repetition is a
 * fresh Bench over all implementations in rotated order (interleaved), each
 * with a fresh instance.
 */
import { Bench } from "tinybench"
import { type Profile, rotate } from "../config.ts"
import type { Impl } from "../impls/types.ts"
import type { Progress } from "../progress.ts"
import type { Row } from "../result.ts"
import { aggregate, ratios } from "./aggregate.ts"
import { type Closed, closed } from "./closed.ts"

export interface Variant {
  readonly label: string
  readonly impl: Impl
  readonly subscribers: number
  readonly extra?: Parameters<typeof closed>[2]
}

/** Runs the variants `reps` times, interleaved; returns events/s per variant per repetition. */
export const measure = async (
  variants: ReadonlyArray<Variant>,
  o: { readonly reps: number; readonly batch: number; readonly timeMs: number },
  progress: Progress,
  title: string
): Promise<Map<string, Array<number>>> => {
  const out = new Map<string, Array<number>>(variants.map((v) => [v.label, []]))
  for (let rep = 0; rep < o.reps; rep++) {
    const bench = new Bench({ time: o.timeMs, warmupTime: 20, warmupIterations: 2, iterations: 3, throws: true })
    const drivers = new Map<string, Closed>()
    for (const v of rotate(variants, rep)) {
      bench.add(
        v.label,
        async () => {
          await drivers.get(v.label)!.run(o.batch)
        },
        {
          beforeAll: async () => {
            globalThis.gc?.()
            drivers.set(v.label, await closed(v.impl, v.subscribers, v.extra))
            progress.step(`${title} ${v.label} rep ${rep + 1}/${o.reps}`)
          },
          afterAll: async () => {
            await drivers.get(v.label)!.instance.close()
            drivers.delete(v.label)
          }
        }
      )
    }
    await bench.run()
    for (const task of bench.tasks) {
      const r = task.result
      if (r.state !== "completed") throw new Error(`${title} ${task.name}: ${r.state}`)
      out.get(task.name)!.push((o.batch * 1000) / r.period)
    }
  }
  return out
}

export const steps = (impls: ReadonlyArray<Impl>, p: Profile) => impls.length * 2 * p.reps

export const run = async (impls: ReadonlyArray<Impl>, p: Profile, progress: Progress): Promise<Array<Row>> => {
  const rows: Array<Row> = []
  for (const subscribers of [1, 5]) {
    const variants = impls.map((impl) => ({ label: impl.name, impl, subscribers }))
    const measured = await measure(
      variants,
      { reps: p.reps, ...p.throughput },
      progress,
      `throughput ${subscribers} sub`
    )
    const group = variants.map((v) => ({
      scenario: "throughput",
      impl: v.impl.name,
      subscribers,
      ...aggregate(
        measured.get(v.label)!.map((eventsPerSec) => ({ eventsPerSec })),
        ["eventsPerSec"]
      )
    }))
    const r = ratios(group, "eventsPerSec")
    for (const row of group) rows.push(row.impl === "eventfabric" ? { ...row, ratioToPeers: r } : row)
  }
  return rows
}
