/**
 * Metrics: the bus's counters as Effect `Metric` series, exported through
 * `@effect/opentelemetry` (`layerOtel`) and as Prometheus text from an HTTP
 * endpoint (`layerPrometheus`).
 *
 * | series | kind | attributes |
 * |---|---|---|
 * | `<prefix>_events_published_total` | counter | type, lane |
 * | `<prefix>_events_rejected_total` | counter | type |
 * | `<prefix>_events_dropped_total` | counter | type, lane |
 * | `<prefix>_events_deduplicated_total` | counter | type, lane |
 * | `<prefix>_events_evicted_total` | counter | lane (from `stats`; eviction has no type at admission) |
 * | `<prefix>_events_dead_lettered_total` | counter | type, lane |
 * | `<prefix>_deliveries_total` | counter | subscription, outcome |
 * | `<prefix>_handler_duration_ms` | histogram | subscription |
 * | `<prefix>_lane_depth` | gauge | lane |
 * | `<prefix>_mailbox_depth` / `<prefix>_in_flight` | gauge | subscription |
 * | `<prefix>_circuit_open` | gauge (1 open, 0 closed) | subscription |
 *
 * Counters by type are recorded by the publish middleware, so put Metrics
 * outermost (after Tracing) to see what Validation rejects and Dedup
 * suppresses. Dead letters are seen by the delivery middleware when it wraps
 * DeadLetter. Gauges and evictions are sampled from `bus.stats` by a fiber
 * that lives as long as the bus. Circuit state is read from the
 * `system.circuit_opened` / `system.circuit_closed` events passing through.
 *
 * Series are written into the `Metric.MetricRegistry` of the context that
 * builds the bus (process-global by default).
 *
 * @since 0.1.0
 */
import type * as Http from "node:http"
import { createServer } from "node:http"
import * as OtelMetrics from "@effect/opentelemetry/OtelMetrics"
import * as OtelResource from "@effect/opentelemetry/Resource"
import { NodeHttpServer } from "@effect/platform-node"
import { Delivery, Errors, type Middleware, Options, Plugin, type Stats } from "@eventfabric/core"
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import { Clock, type Context, Duration, Effect, Exit, Layer, Metric, Schedule, Schema } from "effect"
import { HttpRouter, type HttpServer, type HttpServerError } from "effect/http"
import { PrometheusMetrics } from "effect/observability"

type ServeError = HttpServerError.ServeError

/**
 * The config.
 *
 * - `prefix`: series-name prefix, default `"eventfabric"`.
 * - `sampleInterval`: how often `bus.stats` is sampled for gauges, default
 *   `"5 seconds"` (a Duration, milliseconds or a string).
 * - `boundaries`: handler-duration bucket bounds in milliseconds, ascending;
 *   default 0.1 ms to ~10 s, exponential.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Metrics } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Metrics.Config)({ sampleInterval: "1 second", boundaries: [1, 5, 25, 100] })
 * ```
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  prefix: Schema.optional(
    Schema.String.check(
      Schema.isPattern(/^[a-zA-Z_][a-zA-Z0-9_]*$/, {
        expected: "a metric name prefix (letters, digits, _)"
      })
    )
  ),
  sampleInterval: Schema.optional(Options.DurationInput),
  boundaries: Schema.optional(
    Schema.Array(Schema.Number.check(Schema.isGreaterThan(0))).check(
      Schema.makeFilter((bounds) => bounds.every((b, i) => i === 0 || b > bounds[i - 1]!), {
        expected: "ascending bucket bounds"
      })
    )
  )
})

/**
 * @since 0.1.0
 */
export type Config = typeof Config.Encoded

const defaultBoundaries = Metric.exponentialBoundaries({ start: 0.1, factor: 2, count: 18 })

/** A family of series keyed by attribute values, built on first use. */
const family = <M extends Metric.Metric<any, any>>(make: () => M, names: ReadonlyArray<string>) => {
  const base = make()
  const series = new Map<string, M>()
  return (...values: ReadonlyArray<string>): M => {
    const key = values.join("\u0000")
    let m = series.get(key)
    if (m === undefined) {
      const attributes: Record<string, string> = {}
      for (let i = 0; i < names.length; i++) attributes[names[i]!] = values[i]!
      m = Metric.withAttributes(base, attributes) as M
      series.set(key, m)
    }
    return m
  }
}

const makeSeries = (prefix: string, boundaries: ReadonlyArray<number>) => {
  const counter = (name: string, description: string, names: ReadonlyArray<string>) =>
    family(() => Metric.counter(`${prefix}_${name}`, { description, incremental: true }), names)
  const gauge = (name: string, description: string, names: ReadonlyArray<string>) =>
    family(() => Metric.gauge(`${prefix}_${name}`, { description }), names)
  return {
    published: counter("events_published_total", "Events published", ["type", "lane"]),
    rejected: counter("events_rejected_total", "Events refused at admission (InvalidEvent)", ["type"]),
    dropped: counter("events_dropped_total", "Events refused by a full lane", ["type", "lane"]),
    deduplicated: counter("events_deduplicated_total", "Events suppressed as repeats", ["type", "lane"]),
    evicted: counter("events_evicted_total", "Events evicted from a full sliding lane", ["lane"]),
    deadLettered: counter("events_dead_lettered_total", "Deliveries stored in the dead-letter queue", ["type", "lane"]),
    deliveries: counter("deliveries_total", "Deliveries by outcome", ["subscription", "outcome"]),
    duration: family(
      () =>
        Metric.histogram(`${prefix}_handler_duration_ms`, {
          description: "Handler duration in milliseconds, per attempt chain",
          boundaries
        }),
      ["subscription"]
    ),
    laneDepth: gauge("lane_depth", "Events queued in a lane", ["lane"]),
    mailboxDepth: gauge("mailbox_depth", "Deliveries waiting in a subscription's mailbox", ["subscription"]),
    inFlight: gauge("in_flight", "Deliveries running for a subscription", ["subscription"]),
    circuit: gauge("circuit_open", "1 while a subscription's circuit is open", ["subscription"])
  }
}

type Series = ReturnType<typeof makeSeries>

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): { outcome: string; deadLettered: boolean } => {
  if (Exit.isSuccess(exit)) return { outcome: "succeeded", deadLettered: false }
  for (const reason of exit.cause.reasons) {
    if (reason._tag === "Fail") {
      const error = reason.error
      if (error instanceof Delivery.DeadLettered) return { outcome: error.error._tag, deadLettered: true }
      const tag = (error as { _tag?: unknown })._tag
      return { outcome: typeof tag === "string" ? tag : "HandlerError", deadLettered: false }
    }
    if (reason._tag === "Die") return { outcome: "HandlerError", deadLettered: false }
  }
  return { outcome: "interrupted", deadLettered: false }
}

const circuitSubscription = (payload: unknown): string | undefined => {
  const s = (payload as { subscription?: unknown } | null)?.subscription
  return typeof s === "string" ? s : undefined
}

const publishMiddleware =
  (series: Series, context: Context.Context<never>): Middleware.PublishMiddleware =>
  (next) =>
  (envelope, definition) =>
    Effect.onExit(next(envelope, definition), (exit) =>
      Effect.sync(() => {
        const { priority: lane, type } = envelope
        series.published(type, lane).updateUnsafe(1, context)
        if (Exit.isSuccess(exit)) {
          const status = exit.value.status
          if (status === "dropped") series.dropped(type, exit.value.lane).updateUnsafe(1, context)
          else if (status === "deduplicated") series.deduplicated(type, exit.value.lane).updateUnsafe(1, context)
          else if (type === "system.circuit_opened" || type === "system.circuit_closed") {
            const subscription = circuitSubscription(envelope.payload)
            if (subscription !== undefined) {
              series.circuit(subscription).updateUnsafe(type === "system.circuit_opened" ? 1 : 0, context)
            }
          }
          return
        }
        for (const reason of exit.cause.reasons) {
          if (reason._tag !== "Fail") continue
          if (reason.error instanceof Errors.InvalidEvent) series.rejected(type).updateUnsafe(1, context)
          else if (reason.error instanceof Errors.BackpressureError) {
            series.dropped(type, reason.error.lane).updateUnsafe(1, context)
          }
        }
      })
    )

const deliveryMiddleware =
  (series: Series, context: Context.Context<never>, clock: Clock.Clock): Middleware.DeliveryMiddleware =>
  (next) =>
  (delivery) =>
    Effect.suspend(() => {
      const start = clock.currentTimeNanosUnsafe()
      return Effect.onExit(next(delivery), (exit) =>
        Effect.sync(() => {
          const name = delivery.subscription.name
          const ms = Number(clock.currentTimeNanosUnsafe() - start) / 1e6
          series.duration(name).updateUnsafe(ms, context)
          const { deadLettered, outcome } = outcomeOf(exit)
          series.deliveries(name, outcome).updateUnsafe(1, context)
          if (deadLettered) {
            const { priority, type } = delivery.envelope
            series.deadLettered(type, priority).updateUnsafe(1, context)
          }
        })
      )
    })

const sampler = (series: Series, context: Context.Context<never>) => {
  const evicted = { critical: 0, normal: 0, low: 0 }
  const known = new Set<string>()
  return (stats: Stats.Stats) => {
    for (const lane of ["critical", "normal", "low"] as const) {
      const s = stats.lanes[lane]
      series.laneDepth(lane).updateUnsafe(s.queued, context)
      if (s.evicted > evicted[lane]) {
        series.evicted(lane).updateUnsafe(s.evicted - evicted[lane], context)
        evicted[lane] = s.evicted
      }
    }
    const live = new Set<string>()
    for (const sub of stats.subscriptions) {
      live.add(sub.name)
      known.add(sub.name)
      series.mailboxDepth(sub.name).updateUnsafe(sub.queued, context)
      series.inFlight(sub.name).updateUnsafe(sub.inFlight, context)
    }
    // A closed subscription reads 0 rather than its last value.
    for (const name of known) {
      if (live.has(name)) continue
      series.mailboxDepth(name).updateUnsafe(0, context)
      series.inFlight(name).updateUnsafe(0, context)
      known.delete(name)
    }
  }
}

/**
 * The Metrics plugin.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Metrics, Validation } from "@eventfabric/plugins"
 *
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(Metrics.plugin({ sampleInterval: "1 second" }), Validation.plugin()))
 * )
 * ```
 * @since 0.1.0
 */
export const plugin = (config?: Config) =>
  Plugin.make(
    "metrics",
    Effect.map(Options.decode(Config, "Metrics", config), (decoded) => {
      const series = makeSeries(decoded.prefix ?? "eventfabric", decoded.boundaries ?? defaultBoundaries)
      const interval = decoded.sampleInterval ?? Duration.seconds(5)
      return (bus: Plugin.BusHandle) =>
        Effect.gen(function* () {
          const context = yield* Effect.context<never>()
          const clock = yield* Clock.Clock
          const sample = sampler(series, context)
          const tick = Effect.flatMap(bus.stats, (stats) => Effect.sync(() => sample(stats)))
          yield* tick
          yield* Effect.forkScoped(Effect.repeat(tick, Schedule.spaced(interval)))
          return {
            publish: publishMiddleware(series, context),
            delivery: deliveryMiddleware(series, context, clock)
          }
        })
    })
  )

/**
 * Where the Prometheus endpoint listens. `port` 0 picks a free port (read it
 * from `HttpServer.HttpServer`'s `address`).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Metrics } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Metrics.PrometheusConfig)({ port: 9464, host: "0.0.0.0" })
 * ```
 * @since 0.1.0
 */
export const PrometheusConfig = Schema.Struct({
  port: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
  host: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  path: Schema.optional(Schema.String.check(Schema.isPattern(/^\//, { expected: "a path starting with /" }))),
  prefix: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 */
export type PrometheusConfig = typeof PrometheusConfig.Encoded

/**
 * Serves the registry as Prometheus text exposition over HTTP
 * (`GET /metrics` on 127.0.0.1:9464 by default) with `NodeHttpServer`. The
 * layer also provides the `HttpServer`, whose `address` tells the bound port.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Metrics } from "@eventfabric/plugins"
 * const Observability = Metrics.layerPrometheus({ port: 9464, host: "0.0.0.0" })
 * ```
 * @since 0.1.0
 */
export const layerPrometheus = (
  config?: PrometheusConfig
): Layer.Layer<HttpServer.HttpServer, Errors.InvalidOptions | ServeError> =>
  Layer.unwrap(
    Effect.map(Options.decode(PrometheusConfig, "Metrics.layerPrometheus", config), (decoded) => {
      const server = NodeHttpServer.layer(() => createServer() as Http.Server, {
        port: decoded.port ?? 9464,
        host: decoded.host ?? "127.0.0.1"
      })
      const routes = PrometheusMetrics.layerHttp({
        path: (decoded.path ?? "/metrics") as "/metrics",
        prefix: decoded.prefix
      })
      return HttpRouter.serve(routes, { disableListenLog: true, disableLogger: true }).pipe(Layer.provideMerge(server))
    })
  )

/**
 * Exports the registry through OpenTelemetry: registers a metric producer
 * with the given reader(s) (a `PeriodicExportingMetricReader` with an OTLP
 * exporter in production, an in-memory one in tests).
 *
 * @example
 * ```ts
 * import { InMemoryMetricExporter, PeriodicExportingMetricReader, AggregationTemporality } from "@opentelemetry/sdk-metrics"
 * import { Metrics } from "@eventfabric/plugins"
 *
 * const reader = new PeriodicExportingMetricReader({
 *   exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
 *   exportIntervalMillis: 10_000
 * })
 * const Otel = Metrics.layerOtel(() => reader, { serviceName: "orders" })
 * ```
 * @since 0.1.0
 */
export const layerOtel = (
  reader: () => MetricReader,
  options?: { readonly serviceName?: string | undefined; readonly temporality?: "cumulative" | "delta" | undefined }
): Layer.Layer<never> =>
  OtelMetrics.layer(reader, { temporality: options?.temporality }).pipe(
    Layer.provide(OtelResource.layer({ serviceName: options?.serviceName ?? "eventfabric" }))
  )
