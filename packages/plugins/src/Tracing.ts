/**
 * Tracing: a span per sampled publish and per delivery of a sampled event,
 * with the trace carried by the envelope.
 *
 * - Sampling is parent-based with a ratio for roots: a publish under a span
 *   (the caller's, or the envelope's `traceparent` when a transport set one)
 *   follows that span's decision; a publish with no parent is sampled with
 *   probability `sampleRatio` (default 0.01). A sampled-out event creates no
 *   span at all, publish or delivery.
 * - Publish: a `producer` span `eventfabric.publish <type>`. Its W3C
 *   `traceparent` is written into the envelope, so the trace crosses lanes,
 *   the DLQ and Redis.
 * - Delivery: a `consumer` span `eventfabric.deliver <type>` whose parent is
 *   the publish span named by the envelope's `traceparent`; it fails with the
 *   delivery's error. An envelope without a sampled `traceparent` gets none.
 * - Correlation: the delivery middleware provides `CurrentEnvelope` around the
 *   handler, so that an event published by a handler gets
 *   `causationId` = the handled event's id and keeps its `correlationId`
 *   (the root event's id when none was set). Values set by the publisher win.
 *
 * Spans carry ids, type, lane, subscription and attempt — never payloads.
 * They capture no stack trace (`captureStackTrace: false`): the default
 * `new Error()` per span was 31% of the plugin's CPU in a profile, and
 * turning it off measured 1.57x.
 *
 * @since 0.1.0
 */
import { Egress, type Envelope, type Middleware, Plugin } from "@eventfabric/core"
import { Cause, Context, Effect, Option, Schema, Tracer } from "effect"
import { Headers, HttpTraceContext } from "effect/http"

/**
 * The options.
 *
 * - `prefix`: span-name prefix, default `"eventfabric"`.
 * - `publish` / `delivery`: switch either kind of span off (default on).
 * - `correlation`: set `correlationId` / `causationId` (default on).
 * - `sampleRatio`: the probability in [0, 1] that an event published with no
 *   parent span is traced (default 0.01). Events under a parent follow the
 *   parent's decision.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Tracing } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Tracing.Options)({ prefix: "bus", sampleRatio: 0.1 })
 * ```
 * @category options
 * @since 0.2.0
 */
export const Options = Schema.Struct({
  prefix: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  publish: Schema.optional(Schema.Boolean),
  delivery: Schema.optional(Schema.Boolean),
  correlation: Schema.optional(Schema.Boolean),
  sampleRatio: Schema.optional(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })))
})

/**
 * @category options
 * @since 0.2.0
 */
export type Options = typeof Options.Encoded

/**
 * The ratio of root events traced when `sampleRatio` is not set. At 1% the
 * plugin's cost stays within the bare bus's noise; a traced event costs a
 * publish span plus one span per delivery.
 *
 * @category options
 * @since 0.2.0
 */
export const defaultSampleRatio = 0.01

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

/**
 * Reads a W3C `traceparent` as an external span (with `effect/http`'s
 * trace-context parser), or `undefined` when it is missing or malformed.
 *
 * @example
 * ```ts
 * import { Tracing } from "@eventfabric/plugins"
 * Tracing.parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?.spanId // "00f067aa0ba902b7"
 * ```
 * @since 0.1.0
 */
export const parseTraceparent = (traceparent: string | undefined): Tracer.ExternalSpan | undefined =>
  // Not a string (an envelope from untyped code): no parent, like a malformed one.
  typeof traceparent !== "string"
    ? undefined
    : Option.getOrUndefined(HttpTraceContext.w3c(Headers.fromRecordUnsafe({ traceparent })))

/**
 * Formats a span as a W3C `traceparent` (with `effect/http`'s trace-context
 * module).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Tracing } from "@eventfabric/plugins"
 * const traceparent = Effect.useSpan("work", (span) => Effect.succeed(Tracing.formatTraceparent(span)))
 * ```
 * @since 0.1.0
 */
export const formatTraceparent = (span: Tracer.Span): string => HttpTraceContext.toHeaders(span).traceparent!

// The 5 deliveries of one event read the same traceparent one after another:
// remember the last one parsed.
const memoParse = () => {
  let lastText: string | undefined
  let lastSpan: Tracer.ExternalSpan | undefined
  return (traceparent: string | undefined): Tracer.ExternalSpan | undefined => {
    if (traceparent !== lastText) {
      lastText = traceparent
      lastSpan = parseTraceparent(traceparent)
    }
    return lastSpan
  }
}

const correlate = (envelope: Envelope.Envelope, cause: Envelope.Envelope | undefined): Envelope.Envelope => {
  const correlationId = envelope.correlationId ?? cause?.correlationId ?? cause?.id ?? envelope.id
  const causationId = envelope.causationId ?? cause?.id
  return correlationId === envelope.correlationId && causationId === envelope.causationId
    ? envelope
    : { ...envelope, correlationId, causationId }
}

const noStack = { captureStackTrace: false } as const

/**
 * Runs `self` in a span whose recorded failure passes through egress (a
 * rendered cause echoes the payload), while the caller still gets the real
 * cause. Costs nothing on success.
 */
const spanned = <A, E, R>(
  egress: () => Egress.Egress,
  name: string,
  options: Tracer.SpanOptions,
  self: (span: Tracer.Span) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let real: Cause.Cause<E> | undefined
    const inner = (span: Tracer.Span) =>
      Effect.catchCause(self(span), (cause) => {
        real = cause
        if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
        const text = Cause.pretty(cause)
        const masked = egress().string(text)
        return masked === text ? Effect.failCause(cause) : Effect.die(masked)
      })
    return Effect.catchCause(Effect.useSpan(name, options, inner), (cause) => Effect.failCause(real ?? cause))
  })

/**
 * The publish middleware: sampling, span, `traceparent`, correlation.
 *
 * @example
 * ```ts
 * import { Tracing } from "@eventfabric/plugins"
 * const publish = Tracing.publishMiddleware({ sampleRatio: 1 })
 * ```
 * @since 0.1.0
 */
export const publishMiddleware = (
  options: typeof Options.Type,
  egress: () => Egress.Egress = () => Egress.none
): Middleware.PublishMiddleware => {
  const prefix = options.prefix ?? "eventfabric"
  const spans = options.publish ?? true
  const correlation = options.correlation ?? true
  const ratio = options.sampleRatio ?? defaultSampleRatio
  const parse = memoParse()
  return (next) => (envelope, definition) =>
    Effect.withFiber((fiber) => {
      const correlated = correlation ? correlate(envelope, fiber.getRef(CurrentEnvelope)) : envelope
      if (!spans) return next(correlated, definition)
      const remote = parse(envelope.traceparent)
      const parent = remote ?? Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
      if (!(parent === undefined ? ratio > 0 && Math.random() < ratio : parent.sampled)) {
        return next(correlated, definition)
      }
      return spanned(
        egress,
        `${prefix}.publish ${envelope.type}`,
        {
          kind: "producer",
          captureStackTrace: false,
          ...(remote === undefined ? {} : { parent: remote }),
          attributes: {
            "messaging.system": "eventfabric",
            "messaging.operation.type": "publish",
            "messaging.destination.name": envelope.type,
            "messaging.message.id": envelope.id,
            "eventfabric.lane": envelope.priority,
            ...(correlated.correlationId === undefined
              ? {}
              : { "eventfabric.correlation_id": egress().string(correlated.correlationId) }),
            ...(correlated.causationId === undefined ? {} : { "eventfabric.causation_id": correlated.causationId })
          }
        },
        (span) =>
          next({ ...correlated, traceparent: formatTraceparent(span) }, definition).pipe(
            Effect.tap((receipt) => Effect.sync(() => span.attribute("eventfabric.receipt", receipt.status))),
            Effect.withParentSpan(span, noStack)
          )
      )
    })
}

/**
 * The delivery middleware: a span parented to the publish span when the
 * envelope's `traceparent` is sampled, and `CurrentEnvelope` provided to the
 * handler. With publish spans off, a delivery with no `traceparent` is a root
 * sampled with `sampleRatio`.
 *
 * @example
 * ```ts
 * import { Tracing } from "@eventfabric/plugins"
 * const deliver = Tracing.deliveryMiddleware({})
 * ```
 * @since 0.1.0
 */
export const deliveryMiddleware = (
  options: typeof Options.Type,
  egress: () => Egress.Egress = () => Egress.none
): Middleware.DeliveryMiddleware => {
  const prefix = options.prefix ?? "eventfabric"
  const spans = options.delivery ?? true
  const correlation = options.correlation ?? true
  const rootRatio = (options.publish ?? true) ? 0 : (options.sampleRatio ?? defaultSampleRatio)
  const parse = memoParse()
  return (next) => (delivery) => {
    const envelope = delivery.envelope
    const run = correlation ? Effect.provideService(next(delivery), CurrentEnvelope, envelope) : next(delivery)
    if (!spans) return run
    const parent = parse(envelope.traceparent)
    if (!(parent === undefined ? rootRatio > 0 && Math.random() < rootRatio : parent.sampled)) return run
    return spanned(
      egress,
      `${prefix}.deliver ${envelope.type}`,
      {
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
        },
        captureStackTrace: false
      },
      (span) => Effect.withParentSpan(run, span, noStack)
    )
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
 * const Bus = EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Tracing.plugin({ sampleRatio: 0.05 }))))
 * ```
 * @category plugins
 * @since 0.1.0
 */
// The correlation id is the publisher's text and a failure echoes the payload:
// both leave in spans through the bus's egress, read per span.
export const plugin = Plugin.configured(
  "Tracing",
  Options,
  (options) => (bus: Plugin.BusHandle) =>
    Effect.succeed<Plugin.Hooks>({
      publish: publishMiddleware(options, () => bus.egress),
      delivery: deliveryMiddleware(options, () => bus.egress)
    })
)
