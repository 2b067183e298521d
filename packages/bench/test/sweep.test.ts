import { describe, expect, it } from "vitest"
import { type Step, sweep } from "../src/scenarios/capacity.ts"
import { slopePerMillion } from "../src/scenarios/memory.ts"
import { HARNESS, reproducibility, spread } from "../src/scenarios/repro.ts"

/** A bus whose true capacity is `limit`: every rate up to it passes. */
const probeUpTo =
  (limit: number, seen: Array<number>) =>
  async (rate: number): Promise<Step> => {
    seen.push(rate)
    return { rate, p95Us: 1, depthP95: 1, dropRate: 0, achievedRate: rate, pass: rate <= limit }
  }

describe("capacity sweep", () => {
  const o = { startRate: 25_000, coarseFactor: 2, factor: 1.25, maxRate: 4_000_000 }

  it("reports a capacity within one 1.25x step of the true one", async () => {
    for (const limit of [30_000, 210_000, 399_000, 450_000, 1_300_000]) {
      const r = await sweep(o, probeUpTo(limit, []))
      expect(r.capacity).toBeLessThanOrEqual(limit)
      expect(r.capacity * 1.25).toBeGreaterThan(limit)
    }
  })

  it("steps by at most 1.25x between the last passing rate and the first failing one", async () => {
    const r = await sweep(o, probeUpTo(450_000, []))
    const rates = r.steps.map((s) => s.rate)
    const pass = rates.indexOf(r.capacity)
    expect(r.firstFailingRate! / r.capacity).toBeLessThanOrEqual(1.25 + 1e-9)
    expect(rates[pass + 1]).toBe(r.firstFailingRate)
  })

  it("reports 0 when even the start rate fails, and stops at the first failure", async () => {
    const seen: Array<number> = []
    const r = await sweep(o, probeUpTo(10_000, seen))
    expect(r.capacity).toBe(0)
    expect(seen).toEqual([25_000])
  })
})

describe("heap flatness", () => {
  it("gives a slope of ~0 for a flat heap and the growth per million events otherwise", () => {
    expect(slopePerMillion([20, 20.1, 19.9, 20, 20.05, 20], 1_000_000)).toBeCloseTo(0, 1)
    expect(slopePerMillion([20, 22, 24, 26, 28, 30], 1_000_000)).toBeCloseTo(10, 6)
  })
})

describe("reproducibility", () => {
  const tp = (eventsPerSec: number) => [{ scenario: "throughput", impl: "eventfabric", subscribers: 5, eventsPerSec }]

  it("shows each back-to-back run and the spread between them", () => {
    const r = reproducibility([tp(1_000_000), tp(1_100_000)], "standard", undefined)!
    expect(r.runs).toEqual([1_000_000, 1_100_000])
    expect(r.spread).toBeCloseTo(0.1, 9)
    expect(r.withinTolerance).toBe(true)
    expect(spread([1, 1.2])).toBeCloseTo(0.2, 9)
  })

  it("compares with the previous report only when it ran the same profile and harness", () => {
    const previous = (profile: string, harness = HARNESS) => ({
      meta: { profile, harness, date: "d" },
      results: tp(800_000)
    })
    expect(reproducibility([tp(1_000_000)], "standard", previous("standard"))!.ratioToPrevious).toBeCloseTo(1.25, 9)
    expect(reproducibility([tp(1_000_000)], "standard", previous("quick"))!.previous).toBeUndefined()
    // a report of another harness (the old in-process one) measured differently
    expect(reproducibility([tp(1_000_000)], "standard", previous("standard", 1))!.previous).toBeUndefined()
  })
})
