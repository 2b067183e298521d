/**
 * Tracing: a span per publish and per delivery, with the trace carried by the
 * envelope.
 *
 * - Publish: a `producer` span `eventfabric.publish <type>`, child of the
 *   current span (or of the envelope's `traceparent` when the publisher set
 *   one, as a transport does). Its W3C `traceparent` is written into the
 *   envelope, so the trace crosses lanes, the DLQ and Redis.
 * - Delivery: a `consumer` span `eventfabric.deliver <type>` whose parent is
 *   the publish span named by the envelope's `traceparent`; it fails with the
 *   delivery's error.
 * - Correlation: the delivery middleware provides `CurrentEnvelope` around the
 *   handler, so that an event published by a handler gets
 *   `causationId` = the handled event's id and keeps its `correlationId`
 *   (the root event's id when none was set). Values set by the publisher win.
 *
 * Spans carry ids, type, lane, subscription and attempt — never payloads.
 *
 * @since 0.1.0
 */
import { type Envelope, type Middleware, Options, Plugin } from "@eventfabric/core"
import { Context, Effect, Schema, Tracer } from "effect"

/**
 * The config.
 *
 * - `prefix`: span-name prefix, default `"eventfabric"`.
 * - `publish` / `delivery`: switch either kind of span off (default on).
 * - `correlation`: set `correlationId` / `causationId` (default on).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Tracing } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Tracing.Config)({ prefix: "bus" })
 * ```
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  prefix: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  publish: Schema.optional(Schema.Boolean),
  delivery: Schema.optional(Schema.Boolean),
  correlation: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 */
export type Config = typeof Config.Encoded

/**
 * The envelope whose delivery is running on this fiber, if any.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Tracing } from "@eventfabric/plugins"
 * const causeId = Effect.map(Tracing.CurrentEnvelope, (e) => e?.id)
 * ```
 * @since 0.1.0
 */
export const CurrentEnvelope = Context.Reference<Envelope.Envelope | undefined>(
  "@eventfabric/plugins/Tracing/CurrentEnvelope",
  { defaultValue: () => undefined }
)

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/

/**
 * Reads a W3C `traceparent` as an external span, or `undefined` when malformed.
 *
 * @example
 * ```ts
 * import { Tracing } from "@eventfabric/plugins"
 * Tracing.parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?.spanId // "00f067aa0ba902b7"
 * ```
 * @since 0.1.0
 */
export const parseTraceparent = (traceparent: string | undefined): Tracer.ExternalSpan | undefined => {
  // Not a string (an envelope from untyped code): no parent, like a malformed one.
  if (typeof traceparent !== "string") return undefined
  const m = TRACEPARENT.exec(traceparent)
  if (m === null || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined
  return Tracer.externalSpan({ traceId: m[1]!, spanId: m[2]!, sampled: (Number.parseInt(m[3]!, 16) & 1) === 1 })
}

/**
 * Formats a span as a W3C `traceparent`.
 *
 * @example
 * ```ts
 * import { Tracer } from "effect"
 * import { Tracing } from "@eventfabric/plugins"
 * Tracing.formatTraceparent(Tracer.externalSpan({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" }))
 * // "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
 * ```
 * @since 0.1.0
 */
export const formatTraceparent = (span: Tracer.AnySpan): string =>
  `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`

const correlate = (envelope: Envelope.Envelope, cause: Envelope.Envelope | undefined): Envelope.Envelope => {
  const correlationId = envelope.correlationId ?? cause?.correlationId ?? cause?.id ?? envelope.id
  const causationId = envelope.causationId ?? cause?.id
  return correlationId === envelope.correlationId && causationId === envelope.causationId
    ? envelope
    : { ...envelope, correlationId, causationId }
}

/**
 * The publish middleware: span, `traceparent`, correlation.
 *
 * @example
 * ```ts
 * import { Tracing } from "@eventfabric/plugins"
 * const publish = Tracing.publishMiddleware({})
 * ```
 * @since 0.1.0
 */
export const publishMiddleware = (config: typeof Config.Type): Middleware.PublishMiddleware => {
  const prefix = config.prefix ?? "eventfabric"
  const spans = config.publish ?? true
  const correlation = config.correlation ?? true
  return (next) => (envelope, definition) =>
    Effect.flatMap(CurrentEnvelope, (cause) => {
      const correlated = correlation ? correlate(envelope, cause) : envelope
      if (!spans) return next(correlated, definition)
      const remote = parseTraceparent(envelope.traceparent)
      return Effect.useSpan(
        `${prefix}.publish ${envelope.type}`,
        {
          kind: "producer",
          ...(remote === undefined ? {} : { parent: remote }),
          attributes: {
            "messaging.system": "eventfabric",
            "messaging.operation.type": "publish",
            "messaging.destination.name": envelope.type,
            "messaging.message.id": envelope.id,
            "eventfabric.lane": envelope.priority,
            ...(correlated.correlationId === undefined
              ? {}
              : { "eventfabric.correlation_id": correlated.correlationId }),
            ...(correlated.causationId === undefined ? {} : { "eventfabric.causation_id": correlated.causationId })
          }
        },
        (span) =>
          next({ ...correlated, traceparent: formatTraceparent(span) }, definition).pipe(
            Effect.tap((receipt) => Effect.sync(() => span.attribute("eventfabric.receipt", receipt.status))),
            Effect.withParentSpan(span)
          )
      )
    })
}

/**
 * The delivery middleware: span parented to the publish span, and
 * `CurrentEnvelope` provided to the handler.
 *
 * @example
 * ```ts
 * import { Tracing } from "@eventfabric/plugins"
 * const deliver = Tracing.deliveryMiddleware({})
 * ```
 * @since 0.1.0
 */
export const deliveryMiddleware = (config: typeof Config.Type): Middleware.DeliveryMiddleware => {
  const prefix = config.prefix ?? "eventfabric"
  const spans = config.delivery ?? true
  return (next) => (delivery) => {
    const envelope = delivery.envelope
    const run = Effect.provideService(next(delivery), CurrentEnvelope, envelope)
    if (!spans) return run
    const parent = parseTraceparent(envelope.traceparent)
    return Effect.withSpan(run, `${prefix}.deliver ${envelope.type}`, {
      kind: "consumer",
      ...(parent === undefined ? { root: true } : { parent }),
      attributes: {
        "messaging.system": "eventfabric",
        "messaging.operation.type": "process",
        "messaging.destination.name": envelope.type,
        "messaging.message.id": envelope.id,
        "messaging.consumer.group.name": delivery.subscription.name,
        "eventfabric.subscription": delivery.subscription.name,
        "eventfabric.attempt": envelope.attempt,
        "eventfabric.lane": envelope.priority
      }
    })
  }
}

/**
 * The Tracing plugin. Put it outermost so that its spans time the whole
 * chain and the `traceparent` is in the envelope before Audit, DeadLetter or
 * a transport see it. Spans go to whatever `Tracer` the program provides
 * (`@effect/opentelemetry` `NodeSdk.layer`, `OtlpTracer.layer`).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Tracing } from "@eventfabric/plugins"
 *
 * const Bus = EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Tracing.plugin())))
 * ```
 * @since 0.1.0
 */
export const plugin = (config?: Config) =>
  Plugin.make(
    "tracing",
    Effect.map(Options.decode(Config, "Tracing", config), (decoded) => {
      const hooks: Plugin.Hooks = { publish: publishMiddleware(decoded), delivery: deliveryMiddleware(decoded) }
      return () => Effect.succeed(hooks)
    })
  )
