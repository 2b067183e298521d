import { describe, expect, it } from "@effect/vitest"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { Clock, Duration, Effect, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Dedup, DedupStore, StoreError } from "../src/index.ts"
import { canonicalJson } from "../src/internal/dedupKey.ts"

const Reading = Event.define("sensors.reading", {
  payload: Schema.Struct({ sensor: Schema.String, value: Schema.Number, meta: Schema.optional(Schema.Unknown) })
})
const Placed = Dedup.keyed(
  Event.define("orders.placed", { payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number }) }),
  (p) => p.orderId
)

const busWith = (...plugins: ReadonlyArray<Plugin.Plugin<any, any>>) =>
  EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(...plugins)))

describe("Dedup", () => {
  it.effect("suppresses a repeat inside the window, counts it, and lets it pass after", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const seen: Array<number> = []
      yield* bus.subscribe(Reading, (e) => Effect.sync(() => seen.push(e.payload.value)), { name: "s" })
      const first = yield* bus.publish(Reading, { sensor: "a", value: 1 })
      yield* TestClock.adjust("999 millis")
      const repeat = yield* bus.publishAndWait(Reading, { sensor: "a", value: 1 })
      expect(first.status).toBe("accepted")
      expect(repeat.status).toBe("deduplicated")
      yield* TestClock.adjust("1 millis") // window over
      const later = yield* bus.publish(Reading, { sensor: "a", value: 1 })
      expect(later.status).toBe("accepted")
      yield* bus.drain
      expect(seen).toEqual([1, 1])
      const stats = yield* bus.stats
      expect(stats).toMatchObject({ published: 3, deduplicated: 1, accepted: 2 })
    }).pipe(Effect.provide(busWith(Dedup.plugin())))
  )

  it.effect("the window can be re-tuned while the bus runs", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const window = yield* Dedup.Window
      const status = (value: number) => Effect.map(bus.publish(Reading, { sensor: "a", value }), (r) => r.status)
      expect(yield* status(1)).toBe("accepted")
      yield* TestClock.adjust("500 millis")
      expect(yield* status(1)).toBe("deduplicated")
      yield* window.set("100 millis")
      expect(Duration.toMillis(yield* window.get)).toBe(100)
      expect(yield* status(2)).toBe("accepted")
      yield* TestClock.adjust("100 millis")
      expect(yield* status(2)).toBe("accepted")
      const bad = yield* Effect.flip(window.set("soon" as Duration.Input))
      expect(bad.message).toContain(`at ["window"]`)
    }).pipe(
      Effect.provide(
        EventBus.EventBus.layer().pipe(
          Layer.provide(Plugin.layer(Dedup.plugin())),
          Layer.provideMerge(Dedup.Window.layer("1 second"))
        )
      )
    )
  )

  it.effect("distinct payloads, sources and types pass; key order does not matter", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const status = (p: typeof Reading.payload.Type, source?: string) =>
        Effect.map(bus.publish(Reading, p, { source }), (r) => r.status)
      expect(yield* status({ sensor: "a", value: 1, meta: { x: 1, y: [1, { b: 2, a: 1 }] } })).toBe("accepted")
      expect(yield* status({ value: 1, meta: { y: [1, { a: 1, b: 2 }], x: 1 }, sensor: "a" })).toBe("deduplicated")
      expect(yield* status({ sensor: "a", value: 2 })).toBe("accepted")
      expect(yield* status({ sensor: "b", value: 1 })).toBe("accepted")
      expect(yield* status({ sensor: "a", value: 2 }, "edge-1")).toBe("accepted")
      expect(yield* status({ sensor: "a", value: 2 }, "edge-1")).toBe("deduplicated")
      expect((yield* bus.stats).deduplicated).toBe(2)
    }).pipe(Effect.provide(busWith(Dedup.plugin({ window: "10 seconds" }))))
  )

  it.effect("uses the definition's key function when it has one", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      expect((yield* bus.publish(Placed, { orderId: "o-1", total: 1 })).status).toBe("accepted")
      // Same key, other payload: a repeat by the definition's own rule.
      expect((yield* bus.publish(Placed, { orderId: "o-1", total: 2 })).status).toBe("deduplicated")
      expect((yield* bus.publish(Placed, { orderId: "o-2", total: 1 })).status).toBe("accepted")
    }).pipe(Effect.provide(busWith(Dedup.plugin())))
  )

  it.effect("opt-in: without the plugin, repeats are delivered", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.publish(Reading, { sensor: "a", value: 1 })
      expect((yield* bus.publish(Reading, { sensor: "a", value: 1 })).status).toBe("accepted")
      expect((yield* bus.stats).deduplicated).toBe(0)
    }).pipe(Effect.provide(EventBus.EventBus.layer()))
  )

  it.effect("uses the DedupStore in context; a failing store lets events through", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      expect((yield* bus.publish(Reading, { sensor: "a", value: 1 })).status).toBe("accepted")
      expect((yield* bus.publish(Reading, { sensor: "a", value: 1 })).status).toBe("accepted")
    }).pipe(
      Effect.provide(
        busWith(Dedup.plugin()).pipe(
          Layer.provide(
            Layer.succeed(DedupStore.DedupStore, {
              claim: () => Effect.fail(new StoreError.StoreError({ store: "test", message: "down" })),
              size: Effect.succeed(0)
            })
          )
        )
      )
    )
  )

  it.effect(
    "memory stays bounded under 1M distinct keys: expired keys pruned, cap enforced",
    () =>
      Effect.gen(function* () {
        const clock = yield* Clock.Clock
        // Window 1 s, 1M keys over 100 s of test time: pruning alone holds ~10k keys.
        const pruned = DedupStore.makeMemoryStore({ capacity: 1_000_000, clock })
        // No pruning possible (window longer than the run): the cap holds.
        const capped = DedupStore.makeMemoryStore({ capacity: 50_000, clock })
        let now = 0
        const started = performance.now()
        for (let i = 0; i < 1_000_000; i++) {
          if (i % 10_000 === 0) now += 1000
          const key = `sensors.reading\u0000\u0000${i}`
          pruned.claimUnsafe(key, 1000, now)
          capped.claimUnsafe(key, 3_600_000, now)
        }
        const elapsedMs = performance.now() - started
        expect(pruned.stats().size).toBeLessThanOrEqual(10_000)
        expect(pruned.stats().evicted).toBe(0)
        expect(capped.stats()).toEqual({ size: 50_000, capacity: 50_000, evicted: 950_000 })
        // The newest keys are the ones kept: a recent repeat is still caught.
        expect(capped.claimUnsafe(`sensors.reading\u0000\u0000${999_999}`, 3_600_000, now)).toBe(false)
        expect(capped.claimUnsafe(`sensors.reading\u0000\u0000${0}`, 3_600_000, now)).toBe(true)
        // A cost figure for the report (not asserted: no wall-clock assertions).
        console.log(`dedup memory store: 2M claims in ${elapsedMs.toFixed(0)} ms`)
      }),
    // 2M claims: ~1.6 s alone, several times that on a loaded shared machine.
    30_000
  )

  it.effect("through the bus, the store's size is capped", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const store = yield* DedupStore.DedupStore
      for (let i = 0; i < 2_000; i++) yield* bus.publish(Reading, { sensor: "a", value: i })
      expect(yield* store.size).toBe(500)
      yield* TestClock.adjust("1 second")
      yield* bus.publish(Reading, { sensor: "a", value: -1 })
      expect(yield* store.size).toBe(1) // the expired ones were pruned
    }).pipe(Effect.provide(busWith(Dedup.plugin()).pipe(Layer.provideMerge(DedupStore.layerMemory({ capacity: 500 })))))
  )

  it.effect("bad configs fail the layer with the path and the expectation", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(Plugin.layer(Dedup.plugin({ window: "soon" as never }))))
      expect(error._tag).toBe("InvalidOptions")
      expect(error.message).toContain(`["window"]`)
      const store = yield* Effect.flip(Layer.build(DedupStore.layerMemory({ capacity: 1.5 })))
      expect(store.message).toContain(`["capacity"]`)
      expect(store.message).toContain("integer")
    })
  )

  it.effect("canonicalJson sorts keys at every depth", () =>
    Effect.sync(() => {
      expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }], u: undefined, n: 10n })).toBe(
        `{"a":[{"c":3,"d":2}],"b":1,"n":"10"}`
      )
    })
  )
})
