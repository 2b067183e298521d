import { describe, expect, it } from "@effect/vitest"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { Metrics } from "@eventfabric/plugins"
import { type DataPoint, type Histogram, MetricReader } from "@opentelemetry/sdk-metrics"
import { Effect, Layer, Metric, Schema } from "effect"
import { HttpServer } from "effect/http"
import { OpenTelemetry, Prometheus } from "../src/index.ts"

const OrderPlaced = Event.define("orders.placed", { payload: Schema.Struct({ total: Schema.Number }) })

const isolated = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provideService(self, Metric.MetricRegistry, new Map())

describe("exporters", () => {
  it.effect("a bad Prometheus option fails the layer with InvalidOptions naming the path", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(Prometheus.layer({ port: 70000 })))
      expect(error._tag).toBe("InvalidOptions")
      expect(error._tag === "InvalidOptions" && error.target).toBe("Prometheus.layer")
      expect(error.message).toContain(`["port"]`)
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
          OpenTelemetry.layer(() => reader, { serviceName: "orders" })
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
          Prometheus.layer({ port: 0, host: "127.0.0.1" })
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
