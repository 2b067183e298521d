import { describe, expect, it } from "vitest"
import { aggregate, ratios } from "../src/scenarios/aggregate.ts"
import { Latency, percentile, ratio, summarize } from "../src/stats.ts"

describe("percentiles", () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i) // 100..1, unsorted

  it("uses nearest rank", () => {
    expect(percentile(xs, 50)).toBe(50)
    expect(percentile(xs, 95)).toBe(95)
    expect(percentile(xs, 99)).toBe(99)
    expect(percentile(xs, 100)).toBe(100)
    expect(percentile(xs, 0)).toBe(1)
    expect(percentile([7], 95)).toBe(7)
    expect(percentile([], 95)).toBeNaN()
  })

  it("HDR histogram agrees within its precision, in microseconds", () => {
    const h = new Latency()
    for (let i = 1; i <= 1000; i++) h.recordMs(i / 1000) // 1..1000 us
    expect(h.count).toBe(1000)
    expect(h.us(50)).toBeGreaterThanOrEqual(499.5)
    expect(h.us(50)).toBeLessThanOrEqual(501)
    expect(h.us(95)).toBeCloseTo(950, -1)
    expect(h.maxUs).toBeCloseTo(1000, 0)
    h.destroy()
  })
})

describe("repetitions", () => {
  it("reports the median with min and max", () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 })
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5)
    expect(summarize([Number.NaN, 5]).median).toBe(5)
    expect(summarize([]).n).toBe(0)
  })

  it("aggregates rows field by field", () => {
    const a = aggregate(
      [
        { p95Us: 10, depth: 1 },
        { p95Us: 30, depth: undefined },
        { p95Us: 20, depth: 3 }
      ],
      ["p95Us", "depth"]
    )
    expect(a).toMatchObject({ reps: 3, p95Us: 20, p95UsMin: 10, p95UsMax: 30, depth: 2, depthMin: 1, depthMax: 3 })
  })

  it("gives eventfabric's ratio to each peer", () => {
    const r = ratios(
      [
        { impl: "eventfabric", x: 10 },
        { impl: "a", x: 5 },
        { impl: "b", x: 0 }
      ],
      "x"
    )
    expect(r).toEqual({ a: 2 })
    expect(ratio(1, 0)).toBeNaN()
  })
})
