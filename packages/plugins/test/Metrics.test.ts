import { describe, expect, it } from "@effect/vitest"
import { Delivery, Event, EventBus, Plugin } from "@eventfabric/core"
import { Deferred, Effect, Exit, Fiber, Layer, Metric, Schema } from "effect"
import { TestClock } from "effect/testing"
import { CircuitClosed, CircuitOpened } from "../src/CircuitBreaker.ts"
import * as Metrics from "../src/Metrics.ts"
import * as Validation from "../src/Validation.ts"

const OrderPlaced = Event.define("orders.placed", { payload: Schema.Struct({ total: Schema.Number }) })
const Telemetry = Event.define("app.telemetry", { payload: Schema.Struct({ n: Schema.Number }), priority: "low" })

/** Stands in for Dedup: every second publish of orders.placed is a repeat. */
const FakeDedup = Plugin.make(
  "fake-dedup",
  Effect.succeed(() => {
    const seen = new Set<string>()
    return Effect.succeed<Plugin.Hooks>({
      publish: (next) => (envelope, definition) => {
        if (envelope.type !== "orders.placed" || !seen.has(envelope.type)) {
          seen.add(envelope.type)
          return next(envelope, definition)
        }
        seen.delete(envelope.type)
        return Effect.succeed({ id: envelope.id, type: envelope.type, lane: envelope.priority, status: "deduplicated" })
      }
    })
  })
)

/** Stands in for DeadLetter: failed deliveries come back as DeadLettered. */
const FakeDeadLetter = Plugin.make(
  "fake-dlq",
  Effect.succeed(() =>
    Effect.succeed<Plugin.Hooks>({
      delivery: (next) => (delivery) =>
        Effect.catchTag(next(delivery), "HandlerError", (error) =>
          Effect.fail(new Delivery.DeadLettered({ error, entryId: "dl-1" }))
        )
    })
  )
)

/** Reads one series from the current registry by id and attributes. */
const read = (id: string, attributes: Record<string, string>) =>
  Effect.map(Metric.snapshot, (snapshot) => {
    const found = snapshot.find(
      (m) =>
        m.id === id &&
        Object.entries(attributes).every(([k, v]) => (m.attributes as Record<string, unknown>)?.[k] === v)
    )
    return found?.state as Record<string, any> | undefined
  })
const counter = (id: string, attributes: Record<string, string>) =>
  Effect.map(read(id, attributes), (s) => s?.count as number | undefined)
const gauge = (id: string, attributes: Record<string, string>) =>
  Effect.map(read(id, attributes), (s) => s?.value as number | undefined)
const histogram = (id: string, attributes: Record<string, string>) =>
  Effect.map(read(id, attributes), (s) => s as { count: number; min: number; max: number } | undefined)

const isolated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provideService(self, Metric.MetricRegistry, new Map())

describe("Metrics", () => {
  it.effect("counts published / rejected / dropped / deduplicated / evicted / dead-lettered by type and lane", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.subscribe(OrderPlaced, (e) => (e.payload.total < 0 ? Effect.fail("negative") : Effect.void), {
        name: "billing"
      })
      yield* bus.publish(OrderPlaced, { total: 1 })
      yield* bus.publish(OrderPlaced, { total: 2 }) // deduplicated by the fake
      yield* bus.publish(OrderPlaced, { total: -1 }) // fails -> dead-lettered
      yield* Effect.exit(bus.publish(OrderPlaced, { total: "x" } as never)) // rejected
      // sliding LOW lane of capacity 1: publishes in a row evict
      for (let n = 0; n < 3; n++) yield* bus.publish(Telemetry, { n })
      yield* bus.drain
      yield* TestClock.adjust("1 second") // one sampling tick

      expect(yield* counter("eventfabric_events_published_total", { type: "orders.placed", lane: "normal" })).toBe(4)
      expect(yield* counter("eventfabric_events_rejected_total", { type: "orders.placed" })).toBe(1)
      expect(yield* counter("eventfabric_events_deduplicated_total", { type: "orders.placed", lane: "normal" })).toBe(1)
      expect(yield* counter("eventfabric_events_dead_lettered_total", { type: "orders.placed", lane: "normal" })).toBe(
        1
      )
      expect(yield* counter("eventfabric_deliveries_total", { subscription: "billing", outcome: "succeeded" })).toBe(1)
      expect(yield* counter("eventfabric_deliveries_total", { subscription: "billing", outcome: "failed" })).toBe(1)
      expect(yield* counter("eventfabric_events_published_total", { type: "app.telemetry", lane: "low" })).toBe(3)
      const stats = yield* bus.stats
      expect(stats.evicted).toBeGreaterThan(0)
      expect(yield* counter("eventfabric_events_evicted_total", { lane: "low" })).toBe(stats.lanes.low.evicted)
      expect(yield* gauge("eventfabric_lane_depth", { lane: "normal" })).toBe(0)
      // the core agrees
      expect(stats.rejected).toBe(1)
      expect(stats.deduplicated).toBe(1)
      expect(stats.deliveries.deadLettered).toBe(1)
    }).pipe(
      Effect.provide(
        EventBus.EventBus.layer({ lanes: { low: { capacity: 1, strategy: "sliding" } } }).pipe(
          Layer.provide(
            Plugin.layer(Metrics.plugin({ sampleInterval: "1 second" }), Validation.plugin(), FakeDedup, FakeDeadLetter)
          )
        )
      ),
      isolated
    )
  )

  it.effect("counts drops of a dropping lane", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const gate = yield* Deferred.make<void>()
      yield* bus.subscribe(Telemetry, () => Deferred.await(gate), { name: "slow", mailbox: 1 })
      // fill without yielding: capacity 1, the second is dropped
      yield* bus.publish(Telemetry, { n: 1 })
      const r = yield* bus.publish(Telemetry, { n: 2 })
      expect(r.status).toBe("dropped")
      expect(yield* counter("eventfabric_events_dropped_total", { type: "app.telemetry", lane: "low" })).toBe(1)
      yield* Deferred.succeed(gate, void 0)
    }).pipe(
      Effect.provide(
        EventBus.EventBus.layer({ lanes: { low: { capacity: 1, strategy: "dropping" } } }).pipe(
          Layer.provide(Plugin.layer(Metrics.plugin()))
        )
      ),
      isolated
    )
  )

  it.effect("handler duration histogram by subscription (TestClock), mailbox and in-flight gauges", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const gate = yield* Deferred.make<void>()
      yield* bus.subscribe(OrderPlaced, () => Effect.sleep("30 millis"), { name: "fast" })
      yield* bus.subscribe(OrderPlaced, () => Deferred.await(gate), { name: "blocked", mailbox: 10 })
      for (let i = 0; i < 5; i++) yield* bus.publish(OrderPlaced, { total: i })
      yield* TestClock.adjust("1 second") // sampling tick; "fast" advances too
      expect(yield* gauge("eventfabric_mailbox_depth", { subscription: "blocked" })).toBe(4)
      expect(yield* gauge("eventfabric_in_flight", { subscription: "blocked" })).toBe(1)
      yield* Deferred.succeed(gate, void 0)
      const drained = yield* Effect.forkChild(bus.drain)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(drained)
      const fast = yield* histogram("eventfabric_handler_duration_ms", { subscription: "fast" })
      expect(fast?.count).toBe(5)
      expect(fast?.min).toBeGreaterThanOrEqual(30)
      const blocked = yield* histogram("eventfabric_handler_duration_ms", { subscription: "blocked" })
      expect(blocked?.count).toBe(5)
      expect(yield* gauge("eventfabric_mailbox_depth", { subscription: "blocked" })).toBe(0)
    }).pipe(
      Effect.provide(
        EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Metrics.plugin({ sampleInterval: 1000 }))))
      ),
      isolated
    )
  )

  it.effect("circuit state from system.circuit_opened / closed events", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.publish(CircuitOpened, {
        subscription: "mailer",
        trigger: "consecutive",
        retryAfterMillis: 1000,
        consecutiveOpenings: 1
      })
      expect(yield* gauge("eventfabric_circuit_open", { subscription: "mailer" })).toBe(1)
      yield* bus.publish(CircuitClosed, { subscription: "mailer" })
      expect(yield* gauge("eventfabric_circuit_open", { subscription: "mailer" })).toBe(0)
    }).pipe(Effect.provide(EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Metrics.plugin())))), isolated)
  )

  it.effect("a bad option fails with InvalidOptions naming the path", () =>
    Effect.gen(function* () {
      const build = (options: Metrics.Options) =>
        Effect.exit(
          Effect.provide(
            EventBus.EventBus,
            EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Metrics.plugin(options))))
          )
        ).pipe(Effect.map((exit) => (Exit.isFailure(exit) ? String(exit.cause) : "")))
      const a = yield* build({ boundaries: [5, 1] })
      expect(a).toContain("InvalidOptions")
      expect(a).toContain("ascending bucket bounds")
      expect(a).toContain(`["boundaries"]`)
      expect(yield* build({ sampleInterval: "soon" as never })).toContain(`["sampleInterval"]`)
      expect(yield* build({ prefix: "my-app" })).toContain(`["prefix"]`)
    })
  )
})
