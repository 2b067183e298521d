import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { describe, expect, it } from "@effect/vitest"
import { type Envelope, Event, EventBus, Plugin } from "@eventfabric/core"
import { resourceFromAttributes } from "@opentelemetry/resources"
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor
} from "@opentelemetry/sdk-trace-base"
import { Effect, Exit, Layer, Schema } from "effect"
import * as Tracing from "../src/Tracing.ts"

const OrderPlaced = Event.define("orders.placed", { payload: Schema.Struct({ orderId: Schema.String }) })
const OrderShipped = Event.define("orders.shipped", { payload: Schema.Struct({ orderId: Schema.String }) })
const InvoiceSent = Event.define("billing.invoice_sent", { payload: Schema.Struct({ orderId: Schema.String }) })

// Every root event sampled unless a test says otherwise.
const setup = (options?: Tracing.Options) => {
  const exporter = new InMemorySpanExporter()
  const layer = Layer.mergeAll(
    EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Tracing.plugin({ sampleRatio: 1, ...options })))),
    // NodeSdk.layer needs @opentelemetry/sdk-trace-node, which is not installed:
    // the same wiring by hand, over the base SDK's provider.
    OtelTracer.layer.pipe(
      Layer.provide(
        Layer.succeed(
          OtelTracer.OtelTracerProvider,
          new BasicTracerProvider({
            resource: resourceFromAttributes({ "service.name": "orders" }),
            spanProcessors: [new SimpleSpanProcessor(exporter)]
          })
        )
      )
    )
  )
  return { exporter, layer }
}

const named = (spans: ReadonlyArray<ReadableSpan>, name: string) => {
  const found = spans.filter((s) => s.name === name)
  expect(found.length, name).toBeGreaterThan(0)
  return found
}

describe("Tracing", () => {
  it.effect("a span per publish and per delivery; traceparent in the envelope; delivery parented to publish", () => {
    const { exporter, layer } = setup()
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const seen: Array<Envelope.Envelope> = []
      yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e)), { name: "mailer" })
      yield* bus.publish(OrderPlaced, { orderId: "o-1" }).pipe(Effect.withSpan("http POST /orders"))
      yield* bus.drain
      const spans = exporter.getFinishedSpans()
      const [http] = named(spans, "http POST /orders")
      const [publish] = named(spans, "eventfabric.publish orders.placed")
      const [deliver] = named(spans, "eventfabric.deliver orders.placed")
      // publish is a child of the caller's span
      expect(publish!.parentSpanContext?.spanId).toBe(http!.spanContext().spanId)
      // traceparent names the publish span
      const envelope = seen[0]!
      expect(envelope.traceparent).toBe(`00-${publish!.spanContext().traceId}-${publish!.spanContext().spanId}-01`)
      // delivery is a child of the publish span, same trace
      expect(deliver!.parentSpanContext?.spanId).toBe(publish!.spanContext().spanId)
      expect(deliver!.spanContext().traceId).toBe(http!.spanContext().traceId)
      expect(deliver!.attributes["eventfabric.subscription"]).toBe("mailer")
      expect(publish!.attributes["eventfabric.receipt"]).toBe("accepted")
      expect(publish!.attributes["messaging.message.id"]).toBe(envelope.id)
      expect(deliver!.resource.attributes["service.name"]).toBe("orders")
      // correlation: a root event correlates to itself
      expect(envelope.correlationId).toBe(envelope.id)
      expect(envelope.causationId).toBeUndefined()
    }).pipe(Effect.provide(layer))
  })

  it.effect("a handler's publish: causationId = handled id, correlationId kept, spans chained", () => {
    const { exporter, layer } = setup()
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const seen: Record<string, Envelope.Envelope> = {}
      yield* bus.subscribe(
        OrderPlaced,
        (e) => {
          seen.placed = e
          return bus.publish(OrderShipped, { orderId: e.payload.orderId })
        },
        { name: "shipper" }
      )
      yield* bus.subscribe(
        OrderShipped,
        (e) => {
          seen.shipped = e
          return bus.publish(InvoiceSent, { orderId: e.payload.orderId })
        },
        { name: "biller" }
      )
      yield* bus.subscribe(InvoiceSent, (e) => Effect.sync(() => (seen.invoiced = e)), { name: "log" })
      yield* bus.publish(OrderPlaced, { orderId: "o-2" }, { correlationId: "req-42" })
      yield* bus.drain
      const { invoiced, placed, shipped } = seen
      expect(placed!.correlationId).toBe("req-42")
      expect(shipped!.correlationId).toBe("req-42")
      expect(shipped!.causationId).toBe(placed!.id)
      expect(invoiced!.correlationId).toBe("req-42")
      expect(invoiced!.causationId).toBe(shipped!.id)
      const spans = exporter.getFinishedSpans()
      const [deliverPlaced] = named(spans, "eventfabric.deliver orders.placed")
      const [publishShipped] = named(spans, "eventfabric.publish orders.shipped")
      const [deliverShipped] = named(spans, "eventfabric.deliver orders.shipped")
      expect(publishShipped!.parentSpanContext?.spanId).toBe(deliverPlaced!.spanContext().spanId)
      expect(deliverShipped!.parentSpanContext?.spanId).toBe(publishShipped!.spanContext().spanId)
      const traces = new Set(spans.map((s) => s.spanContext().traceId))
      expect(traces.size).toBe(1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("without a handler, explicit ids win; an incoming traceparent becomes the parent", () => {
    const { exporter, layer } = setup()
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const seen: Array<Envelope.Envelope> = []
      yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e)), { name: "s" })
      const remote = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
      yield* bus.publish(
        OrderPlaced,
        { orderId: "o" },
        { traceparent: remote, causationId: "c-1", correlationId: "k-1" }
      )
      yield* bus.drain
      const [publish] = named(exporter.getFinishedSpans(), "eventfabric.publish orders.placed")
      expect(publish!.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736")
      expect(publish!.parentSpanContext?.spanId).toBe("00f067aa0ba902b7")
      expect(seen[0]!.causationId).toBe("c-1")
      expect(seen[0]!.correlationId).toBe("k-1")
      expect(seen[0]!.traceparent).not.toBe(remote)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failing handler: the delivery span ends in ERROR", () => {
    const { exporter, layer } = setup()
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.subscribe(OrderPlaced, () => Effect.fail("smtp down"), { name: "mailer" })
      yield* bus.publishAndWait(OrderPlaced, { orderId: "o" })
      yield* bus.drain
      const [deliver] = named(exporter.getFinishedSpans(), "eventfabric.deliver orders.placed")
      expect(deliver!.status.code).toBe(2) // SpanStatusCode.ERROR
    }).pipe(Effect.provide(layer))
  })

  it.effect("spans can be switched off while correlation stays", () => {
    const { exporter, layer } = setup({ publish: false, delivery: false })
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const seen: Array<Envelope.Envelope> = []
      yield* bus.subscribe(OrderPlaced, (e) => bus.publish(OrderShipped, { orderId: e.payload.orderId }), { name: "a" })
      yield* bus.subscribe(OrderShipped, (e) => Effect.sync(() => seen.push(e)), { name: "b" })
      yield* bus.publish(OrderPlaced, { orderId: "o" })
      yield* bus.drain
      expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith("eventfabric"))).toEqual([])
      expect(seen[0]!.causationId).toBeDefined()
      expect(seen[0]!.traceparent).toBeUndefined()
    }).pipe(Effect.provide(layer))
  })

  it.effect("a root event sampled out creates no span, publish or delivery, and carries no traceparent", () => {
    const { exporter, layer } = setup({ sampleRatio: 0 })
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const seen: Array<Envelope.Envelope> = []
      yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e)), { name: "a" })
      yield* bus.subscribe(OrderPlaced, () => Effect.void, { name: "b" })
      for (let i = 0; i < 20; i++) yield* bus.publish(OrderPlaced, { orderId: `o-${i}` })
      yield* bus.drain
      expect(seen.length).toBe(20)
      expect(exporter.getFinishedSpans().filter((s) => s.name.startsWith("eventfabric"))).toEqual([])
      expect(seen.every((e) => e.traceparent === undefined)).toBe(true)
    }).pipe(Effect.provide(layer))
  })

  it.effect(
    "sampling follows the parent: a traced caller is traced at ratio 0, an unsampled traceparent is not",
    () => {
      const { exporter, layer } = setup({ sampleRatio: 0 })
      return Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const seen: Array<Envelope.Envelope> = []
        yield* bus.subscribe([OrderPlaced, OrderShipped], (e) => Effect.sync(() => seen.push(e)), { name: "a" })
        yield* bus.publish(OrderPlaced, { orderId: "traced" }).pipe(Effect.withSpan("http POST /orders"))
        const unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
        yield* bus.publish(OrderShipped, { orderId: "remote" }, { traceparent: unsampled })
        yield* bus.drain
        const spans = exporter.getFinishedSpans()
        named(spans, "eventfabric.publish orders.placed")
        named(spans, "eventfabric.deliver orders.placed")
        expect(spans.filter((s) => s.name.includes("orders.shipped"))).toEqual([])
        // the remote decision is propagated unchanged
        expect(seen.find((e) => e.type === "orders.shipped")!.traceparent).toBe(unsampled)
      }).pipe(Effect.provide(layer))
    }
  )

  it.effect("traceparent parse/format round trip and rejects malformed values", () =>
    Effect.gen(function* () {
      const tp = yield* Effect.useSpan("work", (span) => Effect.succeed(Tracing.formatTraceparent(span)))
      const parsed = Tracing.parseTraceparent(tp)!
      expect(tp).toBe(`00-${parsed.traceId}-${parsed.spanId}-01`)
      expect(Tracing.parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?.spanId).toBe(
        "00f067aa0ba902b7"
      )
      expect(Tracing.parseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01")).toBeUndefined()
      expect(Tracing.parseTraceparent("garbage")).toBeUndefined()
      expect(Tracing.parseTraceparent(undefined)).toBeUndefined()
    })
  )

  it.effect("a bad config value fails with InvalidOptions naming the path", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.provide(
          EventBus.EventBus,
          EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Tracing.plugin({ prefix: "" }))))
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const text = Exit.isFailure(exit) ? String(exit.cause) : ""
      expect(text).toContain("InvalidOptions")
      expect(text).toContain(`["prefix"]`)
    })
  )
})
