/**
 * Slow-subscriber isolation at a paced rate: the fast subscribers' latency with
 * 4 fast subscribers alone, then with a fifth whose handler waits 5 ms.
 */
import { type Profile, rotate } from "../config.ts"
import type { Impl } from "../impls/types.ts"
import { openLoop } from "../loadgen.ts"
import type { Progress } from "../progress.ts"
import type { Row } from "../result.ts"
import { aggregate, ratios } from "./aggregate.ts"

const FAST = 4
const keys = ["p50Us", "p95Us", "p99Us", "maxUs", "dropRate", "depthP95"] as const

/** Implementations compared here: the bus and one peer of each kind. */
export const pick = (impls: ReadonlyArray<Impl>) =>
  impls.filter((i) => ["eventfabric", "node:events", "effect-pubsub", "naive-bus"].includes(i.name))

export const steps = (impls: ReadonlyArray<Impl>, p: Profile) => pick(impls).length * 2 * p.reps

export const run = async (all: ReadonlyArray<Impl>, p: Profile, progress: Progress): Promise<Array<Row>> => {
  const impls = pick(all)
  const { rate, durationMs, slowMs } = p.isolation
  const results = new Map<string, Array<Record<string, number | undefined>>>()
  for (let rep = 0; rep < p.reps; rep++) {
    for (const withSlow of [false, true]) {
      for (const impl of rotate(impls, rep)) {
        progress.step(
          `isolation ${impl.name} ${withSlow ? "with" : "without"} slow subscriber rep ${rep + 1}/${p.reps}`
        )
        globalThis.gc?.()
        const r = await openLoop(impl, {
          rate,
          durationMs,
          warmupMs: Math.min(100, durationMs / 5),
          subscribers: withSlow ? FAST + 1 : FAST,
          slow: withSlow ? { index: FAST, ms: slowMs } : undefined,
          // Short shutdown grace: the slow subscriber's mailbox is not worth waiting for at close.
          busOptions: { shutdownGrace: 50 },
          maxSettleMs: 300
        })
        const key = `${impl.name}/${withSlow}`
        if (!results.has(key)) results.set(key, [])
        results.get(key)!.push({
          p50Us: r.start.us(50),
          p95Us: r.start.us(95),
          p99Us: r.start.us(99),
          maxUs: r.start.maxUs,
          dropRate: r.dropRate,
          depthP95: r.depthP95
        })
        r.start.destroy()
        r.done.destroy()
        r.sendLag.destroy()
      }
    }
  }
  const group = impls.map((impl) => {
    const without = aggregate(results.get(`${impl.name}/false`)!, keys)
    const withSlow = aggregate(results.get(`${impl.name}/true`)!, keys)
    return {
      scenario: "isolation",
      impl: impl.name,
      subscribers: FAST + 1,
      rate,
      slowHandlerMs: slowMs,
      p95Us: withSlow.p95Us,
      p95UsWithout: without.p95Us,
      p99Us: withSlow.p99Us,
      p99UsWithout: without.p99Us,
      slowdownP95: withSlow.p95Us! / without.p95Us!,
      fastDropRate: withSlow.dropRate,
      without,
      withSlow
    }
  })
  const r = ratios(group, "p95Us")
  return group.map((row) => (row.impl === "eventfabric" ? { ...row, ratioToPeers: r } : row))
}
