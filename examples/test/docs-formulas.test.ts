/**
 * Every accounting formula the docs state (`a = b + c` in backticks, in the
 * README, docs/*.md and the Stats module's JSDoc) is computed from a real
 * bus's `stats` after a mixed run: each name must be a field of `Stats` (or
 * of a lane, for formulas said to hold "per lane"), and the sum must hold.
 */
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Event, EventBus, Plugin, type Stats } from "@eventfabric/core"
import { Dedup, Validation } from "@eventfabric/plugins"
import { Effect, Layer, Schema } from "effect"

const root = fileURLToPath(new URL("../..", import.meta.url))
const sources = [
  "README.md",
  ...readdirSync(`${root}docs`)
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
  "packages/core/src/Stats.ts"
]

interface Formula {
  readonly file: string
  readonly text: string
  readonly perLane: boolean
}

// `name = name + name …`, names being stats paths such as `deliveries.total`.
const pattern = /`([a-zA-Z.]+ = [a-zA-Z.]+(?: \+ [a-zA-Z.]+)+)`([^\n]*)/g
const formulas: Array<Formula> = sources.flatMap((file) =>
  [...readFileSync(`${root}${file}`, "utf8").matchAll(pattern)].map((m) => ({
    file,
    text: m[1]!,
    perLane: /per lane/.test(m[2]!)
  }))
)

const valueAt = (stats: object, path: string): number | undefined => {
  let at: unknown = stats
  for (const key of path.split(".")) at = typeof at === "object" && at !== null ? (at as any)[key] : undefined
  return typeof at === "number" ? at : undefined
}

/** Undefined when the formula holds, else what is wrong. Names on the right are read beside the left one (`deliveries.total = succeeded + …`). */
const check = (text: string, stats: object): string | undefined => {
  const [lhs, sides] = text.split(" = ") as [string, string]
  const scope = lhs.includes(".") ? `${lhs.slice(0, lhs.lastIndexOf("."))}.` : ""
  const rhs = sides
    .split(" + ")
    .map((n) => (scope !== "" && valueAt(stats, `${scope}${n}`) !== undefined ? `${scope}${n}` : n))
    .join(" + ")
  const names = [lhs, ...rhs.split(" + ")]
  const missing = names.filter((n) => valueAt(stats, n) === undefined)
  if (missing.length > 0) return `names ${missing.join(", ")}, which stats does not have`
  const sum = rhs.split(" + ").reduce((n, name) => n + valueAt(stats, name)!, 0)
  const left = valueAt(stats, lhs)!
  return left === sum ? undefined : `${lhs} is ${left}, the right side sums to ${sum}`
}

const Order = Event.define("orders.placed", {
  payload: Schema.Struct({ id: Schema.String }),
  key: (p) => p.id
})
const Tick = Event.define("telemetry.tick", { payload: Schema.Struct({ n: Schema.Number }), priority: "low" })
const Nobody = Event.define("audit.nobody", { payload: Schema.Struct({}) })

/** Something in every counted state: rejected, deduplicated, evicted, unrouted, failed, succeeded. */
const mixedRun = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  yield* bus.subscribe(Order, (e) => (e.payload.id === "bad" ? Effect.fail("boom") : Effect.void), { name: "orders" })
  yield* bus.subscribe(Tick, () => Effect.void, { name: "ticks" })
  for (const id of ["a", "b", "a", "bad"]) yield* bus.publish(Order, { id })
  yield* Effect.exit(bus.publish(Order, { id: 7 } as never))
  for (let n = 0; n < 20; n++) yield* bus.publish(Tick, { n })
  yield* bus.publish(Nobody, {})
  yield* bus.drain
  return yield* bus.stats
}).pipe(
  Effect.scoped,
  Effect.provide(
    EventBus.layer({ lanes: { low: { capacity: 2, strategy: "sliding" } } }).pipe(
      Layer.provide(Plugin.layer(Validation.plugin(), Dedup.plugin({ window: "1 minute" })))
    )
  )
)

describe("docs: every accounting formula holds on a real bus's stats", () => {
  it("the docs state formulas (this test reads them)", () => {
    expect(formulas.length).toBeGreaterThanOrEqual(3)
  })

  it.effect("each formula names real stats fields and adds up after a mixed run", () =>
    Effect.gen(function* () {
      const stats: Stats.Stats = yield* mixedRun
      // the run reached the states the formulas speak of
      expect(stats.rejected).toBeGreaterThan(0)
      expect(stats.deduplicated).toBeGreaterThan(0)
      expect(stats.evicted).toBeGreaterThan(0)
      expect(stats.unrouted).toBeGreaterThan(0)
      expect(stats.deliveries.failed).toBeGreaterThan(0)
      const problems = formulas.flatMap((f) => {
        const wrong = [
          check(f.text, stats),
          ...(f.perLane ? Object.values(stats.lanes).map((l) => check(f.text, l)) : [])
        ]
        return wrong.filter((w) => w !== undefined).map((w) => `${f.file}: \`${f.text}\`: ${w}`)
      })
      expect(problems).toEqual([])
    })
  )
})
