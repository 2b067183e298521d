import { describe, expect, it } from "vitest"
import { runJob } from "../src/runner.ts"

describe("child processes", () => {
  it("runs a job in a child and returns its result", async () => {
    const r = (await runJob({ scenario: "memory", impl: "node:events", events: 10_000, checkpoints: 2 }, 30_000)) as {
      events: number
      heapMB: Array<number>
      peakRssMB: number
    }
    expect(r.events).toBeGreaterThanOrEqual(10_000)
    expect(r.heapMB).toHaveLength(2)
    expect(r.peakRssMB).toBeGreaterThan(0)
  }, 40_000)

  it("rejects with the reason when the child fails", async () => {
    await expect(runJob({ scenario: "nosuch" }, 30_000)).rejects.toThrow(/nosuch/)
  }, 40_000)
})
