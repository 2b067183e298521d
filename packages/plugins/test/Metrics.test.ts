import { describe, expect, it } from "@effect/vitest"
import { Delivery, Event, EventBus, Plugin } from "@eventfabric/core"
import { type DataPoint, type Histogram, MetricReader } from "@opentelemetry/sdk-metrics"
import { Deferred, Effect, Exit, Fiber, Layer, Metric, Schema } from "effect"
import { HttpServer } from "effect/http"
import { TestClock } from "effect/testing"
import * as Metrics from "../src/Metrics.ts"
import * as Validation from "../src/Validation.ts"

const OrderPlaced = Event.define("orders.placed", { payload: Schema.Struct({ total: Schema.Number }) })
const Telemetry = Event.define("app.telemetry", { payload: Schema.Struct({ n: Schema.Number }), priority: "low" })
const CircuitOpened = Event.define("system.circuit_opened", {
  payload: Schema.Struct({ subscription: Schema.String }),
  priority: "critical"
})
const CircuitClosed = Event.define("system.circuit_closed", {
  payload: Schema.Struct({ subscription: Schema.String }),
  priority: "critical"
})

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
      expect(yield* counter("eventfabric_deliveries_total", { subscription: "billing", outcome: "HandlerError" })).toBe(
        1
      )
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
      yield* bus.publish(CircuitOpened, { subscription: "mailer" })
      expect(yield* gauge("eventfabric_circuit_open", { subscription: "mailer" })).toBe(1)
      yield* bus.publish(CircuitClosed, { subscription: "mailer" })
      expect(yield* gauge("eventfabric_circuit_open", { subscription: "mailer" })).toBe(0)
    }).pipe(Effect.provide(EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Metrics.plugin())))), isolated)
  )

  it.effect("a bad config value fails with InvalidOptions naming the path", () =>
    Effect.gen(function* () {
      const build = (config: Metrics.Config) =>
        Effect.exit(
          Effect.provide(
            EventBus.EventBus,
            EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Metrics.plugin(config))))
          )
        ).pipe(Effect.map((exit) => (Exit.isFailure(exit) ? String(exit.cause) : "")))
      const a = yield* build({ boundaries: [5, 1] })
      expect(a).toContain("InvalidOptions")
      expect(a).toContain("ascending bucket bounds")
      expect(a).toContain(`["boundaries"]`)
      expect(yield* build({ sampleInterval: "soon" as never })).toContain(`["sampleInterval"]`)
      expect(yield* build({ prefix: "my-app" })).toContain(`["prefix"]`)
      const p = yield* Effect.exit(Layer.build(Metrics.layerPrometheus({ port: 70000 })))
      expect(Exit.isFailure(p) && String(p.cause)).toContain(`["port"]`)
    })
  )

  it.effect("exports through @effect/opentelemetry to a metric reader", () => {
    class TestReader extends MetricReader {
      protected override onShutdown() {
        return Promise.resolve()
      }
      protected override onForceFlush() {
        return Promise.resolve()
      }
    }
    const reader = new TestReader()
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.subscribe(OrderPlaced, () => Effect.void, { name: "billing" })
      yield* bus.publish(OrderPlaced, { total: 1 })
      yield* bus.publish(OrderPlaced, { total: 2 })
      yield* bus.drain
      const { resourceMetrics } = yield* Effect.promise(() => reader.collect())
      const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)
      const published = metrics.find((m) => m.descriptor.name === "eventfabric_events_published_total")!
      expect(published).toBeDefined()
      const point = (published.dataPoints as Array<DataPoint<number>>).find(
        (p) => p.attributes.type === "orders.placed" && p.attributes.lane === "normal"
      )
      expect(point?.value).toBe(2)
      const duration = metrics.find((m) => m.descriptor.name === "eventfabric_handler_duration_ms")!
      const hist = (duration.dataPoints as Array<DataPoint<Histogram>>).find(
        (p) => p.attributes.subscription === "billing"
      )
      expect(hist?.value.count).toBe(2)
      expect(resourceMetrics.resource.attributes["service.name"]).toBe("orders")
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Metrics.plugin()))),
          Metrics.layerOtel(() => reader, { serviceName: "orders" })
        )
      ),
      isolated
    )
  })

  it.live("serves Prometheus text exposition over real HTTP on 127.0.0.1 (ephemeral port)", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const server = yield* HttpServer.HttpServer
      const address = server.address
      if (!("port" in address)) throw new Error("expected an internet address")
      expect(address.port).toBeGreaterThan(0)
      yield* bus.subscribe(OrderPlaced, () => Effect.void, { name: "billing" })
      yield* bus.publish(OrderPlaced, { total: 1 })
      yield* bus.publish(OrderPlaced, { total: 2 })
      yield* bus.publish(OrderPlaced, { total: 3 })
      yield* bus.drain
      const response = yield* Effect.promise(() => fetch(`http://127.0.0.1:${address.port}/metrics`))
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("text/plain")
      const samples = parseExposition(yield* Effect.promise(() => response.text()))
      expect(samples.types.get("eventfabric_events_published_total")).toBe("counter")
      expect(samples.types.get("eventfabric_lane_depth")).toBe("gauge")
      expect(samples.types.get("eventfabric_handler_duration_ms")).toBe("histogram")
      expect(samples.get("eventfabric_events_published_total", { type: "orders.placed", lane: "normal" })).toBe(3)
      expect(samples.get("eventfabric_handler_duration_ms_count", { subscription: "billing" })).toBe(3)
      expect(samples.get("eventfabric_handler_duration_ms_bucket", { subscription: "billing", le: "+Inf" })).toBe(3)
      expect(samples.get("eventfabric_deliveries_total", { subscription: "billing", outcome: "succeeded" })).toBe(3)
      expect(samples.get("eventfabric_lane_depth", { lane: "critical" })).toBe(0)
      const missing = yield* Effect.promise(() => fetch(`http://127.0.0.1:${address.port}/nope`))
      expect(missing.status).toBe(404)
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Metrics.plugin()))),
          Metrics.layerPrometheus({ port: 0, host: "127.0.0.1" })
        )
      ),
      isolated
    )
  )
})

/** A small parser of the text exposition format: `# TYPE` lines and samples. */
const parseExposition = (text: string) => {
  const types = new Map<string, string>()
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = []
  for (const line of text.split("\n")) {
    if (line === "") continue
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type) {
      types.set(type[1]!, type[2]!)
      continue
    }
    if (line.startsWith("#")) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line)
    if (m === null) throw new Error(`malformed exposition line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!
    samples.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return {
    types,
    get: (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
  }
}
