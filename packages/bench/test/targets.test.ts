import type { Stats } from "@eventfabric/core"
import { describe, expect, it } from "vitest"
import { sections } from "../src/report/sections.ts"
import { latencySvg } from "../src/report/svg.ts"
import { markdown } from "../src/report/write.ts"
import type { Row } from "../src/result.ts"
import { meetsSlo } from "../src/scenarios/capacity.ts"
import { account, overloadRate } from "../src/scenarios/overload.ts"
import { evaluate, evaluateAll, failures, specs } from "../src/targets.ts"

const rows = (p95Us: number, depthP95: number, dropRate: number): Array<Row> => [
  { scenario: "latency", impl: "eventfabric", subscribers: 5, rate: 10_000, p95Us: 5, depthP95: 1, dropRate: 0 },
  {
    scenario: "latency",
    impl: "eventfabric",
    subscribers: 5,
    rate: 50_000,
    p95Us,
    p99Us: 2 * p95Us,
    depthP95,
    dropRate
  },
  { scenario: "latency", impl: "node:events", subscribers: 5, rate: 50_000, p95Us: 1, p99Us: 2, p999Us: 3, p50Us: 0.5 },
  { scenario: "throughput", impl: "eventfabric", subscribers: 5, eventsPerSec: 400_000 }
]

describe("targets gate", () => {
  it("passes when the gated figures are inside their limits", () => {
    const t = evaluateAll(specs, rows(900, 50, 0.0005))
    expect(failures(t)).toEqual([])
    // goals are reported, never gated
    expect(t.find((x) => x.name === "throughput, 5 subscriptions")).toMatchObject({ pass: false, gated: false })
  })

  it("fails on p95, on depth and on drops, each alone", () => {
    expect(failures(evaluateAll(specs, rows(1000, 50, 0))).map((t) => t.name)).toEqual(["p95 @ 50k ev/s"])
    expect(failures(evaluateAll(specs, rows(10, 100, 0))).map((t) => t.name)).toEqual(["queue depth p95 @ 50k ev/s"])
    expect(failures(evaluateAll(specs, rows(10, 1, 0.001))).map((t) => t.name)).toEqual(["drops below capacity"])
  })

  it("fails a gated target that was not measured", () => {
    expect(failures(evaluateAll(specs, [])).length).toBe(3)
  })

  it("compares by kind and strictness", () => {
    const spec = { name: "x", unit: "u", limit: 10, kind: "min" as const, strict: false, gated: true, pick: () => 10 }
    expect(evaluate(spec, 10).pass).toBe(true)
    expect(evaluate({ ...spec, strict: true }, 10).pass).toBe(false)
    expect(evaluate({ ...spec, kind: "max" }, 11).pass).toBe(false)
    expect(evaluate(spec, Number.NaN).pass).toBe(false)
  })
})

describe("capacity and overload logic", () => {
  it("applies the SLO", () => {
    expect(meetsSlo({ p95Us: 999, depthP95: 99, dropRate: 0.0009 })).toBe(true)
    expect(meetsSlo({ p95Us: 1000, depthP95: 1, dropRate: 0 })).toBe(false)
    expect(meetsSlo({ p95Us: 1, depthP95: 100, dropRate: 0 })).toBe(false)
    expect(meetsSlo({ p95Us: 1, depthP95: 1, dropRate: 0.001 })).toBe(false)
  })

  it("overloads at 2x capacity, or 2x saturation without one", () => {
    expect(overloadRate(300_000, 900_000).rate).toBe(600_000)
    expect(overloadRate(0, 400_000).rate).toBe(800_000)
  })

  it("finds uncounted losses", () => {
    const lane = {
      capacity: 1,
      strategy: "dropping" as const,
      queued: 0,
      accepted: 0,
      dropped: 0,
      evicted: 0,
      dispatched: 0,
      discarded: 0
    }
    const deliveries = {
      total: 0,
      succeeded: 0,
      failed: 0,
      timedOut: 0,
      rejected: 0,
      overflowed: 3,
      interrupted: 0,
      deadLettered: 0,
      queued: 0,
      inFlight: 0
    }
    const stats = {
      published: 100,
      dropped: 10,
      evicted: 5,
      queued: 0,
      lanes: { critical: lane, normal: lane, low: lane },
      deliveries
    } as unknown as Stats.Stats
    // 100 events x 2 subscribers = 200; 15 lost before dispatch (x2) and 3 overflowed
    expect(account(100, 2, 200 - 30 - 3, stats).uncounted).toBe(0)
    expect(account(100, 2, 200 - 30 - 4, stats).uncounted).toBe(1)
  })
})

describe("report", () => {
  it("renders tables, markdown and an SVG from rows", () => {
    const r = rows(900, 50, 0)
    const targets = evaluateAll(specs, r)
    const secs = sections(r, targets)
    expect(secs.map((s) => s.title).some((t) => t.startsWith("Latency at 50k"))).toBe(true)
    const md = markdown({ meta: { profile: "standard" }, results: r, targets, notes: ["n"] }, secs)
    expect(md).toContain("| target | value | limit | kind | result |")
    const svg = latencySvg(r, "t")
    expect(svg.startsWith("<svg")).toBe(true)
    expect(svg).toContain("eventfabric p95: 900.0 us")
    expect(svg.trim().endsWith("</svg>")).toBe(true)
  })
})
