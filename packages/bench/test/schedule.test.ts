import { describe, expect, it } from "vitest"
import * as Schedule from "../src/schedule.ts"

describe("open-loop schedule", () => {
  const s = Schedule.make(1000, 50_000, 100) // 50k ev/s for 100 ms: one event every 20 us

  it("sizes the run from rate and duration", () => {
    expect(s.total).toBe(5000)
  })

  it("spaces intended times evenly from the start", () => {
    expect(Schedule.intended(s, 0)).toBe(1000)
    expect(Schedule.intended(s, 1)).toBeCloseTo(1000.02, 10)
    expect(Schedule.intended(s, 4999)).toBeCloseTo(1099.98, 6)
    expect(Schedule.end(s)).toBeCloseTo(1099.98, 6)
  })

  it("counts what is due at a time, whatever was sent before", () => {
    expect(Schedule.dueCount(s, 999)).toBe(0)
    expect(Schedule.dueCount(s, 1000)).toBe(1)
    expect(Schedule.dueCount(s, 1000.019)).toBe(1)
    expect(Schedule.dueCount(s, 1000.02)).toBe(2)
    // a stall of 10 ms makes 500 more events due at once: the schedule does not wait
    expect(Schedule.dueCount(s, 1010)).toBe(501)
    expect(Schedule.dueCount(s, 5000)).toBe(5000)
  })

  it("never lets an event be due before its intended time", () => {
    for (const now of [1000, 1000.5, 1033.333, 1099.99]) {
      const n = Schedule.dueCount(s, now)
      expect(Schedule.intended(s, n - 1)).toBeLessThanOrEqual(now)
      if (n < s.total) expect(Schedule.intended(s, n)).toBeGreaterThan(now)
    }
  })

  it("rejects nonsense", () => {
    expect(() => Schedule.make(0, 0, 100)).toThrow()
    expect(() => Schedule.make(0, 100, 0)).toThrow()
  })
})
