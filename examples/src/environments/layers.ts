/**
 * Three plugin layer sets for one program, swapped by environment:
 *
 * | | dev | test | prod |
 * |---|---|---|---|
 * | logging | console (the `Logging` plugin) | – | – |
 * | validation | yes | yes | yes |
 * | dedup | no | no | 1 s window |
 * | retry | no | 2 retries, 1 s base, no jitter (TestClock) | 3 retries, 100 ms base |
 * | circuit breaker | no | no | 5 failures |
 * | dead letters | memory | memory | Redis when reachable, memory otherwise |
 * | metrics | – | – | Prometheus endpoint + OTLP export |
 * | tracing | – | – | spans exported over OTLP |
 *
 * Every layer provides the same services, `EventBus | DeadLetterQueue`, so the
 * program cannot tell them apart.
 */
import { EventBus, Plugin } from "@eventfabric/core"
import { Prometheus } from "@eventfabric/exporters"
import {
  CircuitBreaker,
  DeadLetter,
  DeadLetterQueue,
  DeadLetterStore,
  Dedup,
  Metrics,
  Retry,
  Tracing,
  Validation
} from "@eventfabric/plugins"
import { RedisConnection, RedisDeadLetterStore } from "@eventfabric/redis"
import { Cause, Config, Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { Otlp } from "effect/observability"
import { logging } from "./Logging.ts"

/** The environments. */
export const environments = ["dev", "test", "prod"] as const

/** One of `environments`. */
export type Environment = (typeof environments)[number]

/** `APP_ENV`, default `dev`; any other value fails with Config's message. */
export const AppEnv = Config.Literals(environments, "APP_ENV").pipe(Config.withDefault("dev" as Environment))

/** Development: every publish and delivery logged; no dedup, so repeats are visible. */
export const Dev = EventBus.layer().pipe(
  Layer.provide(Plugin.layer(logging(), Validation.plugin(), DeadLetter.plugin())),
  Layer.provideMerge(DeadLetterQueue.layerMemory({ capacity: 1000 }))
)

/**
 * Tests: in-memory dead letters, and nothing that reads the wall clock. Retry
 * backs off on the Effect `Clock`, so under `TestClock` a test moves time
 * with `TestClock.adjust` instead of sleeping. No jitter: delays are exact.
 */
export const Test = EventBus.layer({ shutdownGrace: "1 second" }).pipe(
  Layer.provide(
    Plugin.layer(Validation.plugin(), DeadLetter.plugin(), Retry.plugin({ times: 2, base: "1 second", jitter: false }))
  ),
  Layer.provideMerge(DeadLetterQueue.layerMemory({ capacity: 100 }))
)

/**
 * The dead-letter store for production: Redis at `REDIS_URL` (default
 * `redis://127.0.0.1:6379`) when it answers within a second, else bounded
 * memory, with a warning. `DLQ_PREFIX` names the keys.
 */
export const ProdDeadLetters = Layer.unwrap(
  Effect.gen(function* () {
    const url = yield* Config.String("REDIS_URL").pipe(Config.withDefault("redis://127.0.0.1:6379"))
    const prefix = yield* Config.String("DLQ_PREFIX").pipe(Config.withDefault("eventfabric:dlq"))
    const redis = RedisDeadLetterStore.layer({ prefix }).pipe(
      Layer.provide(RedisConnection.layer({ url, connectTimeout: "1 second" })),
      Layer.tap(() => Effect.logInfo(`dead letters: redis at ${url}`))
    )
    const memory = DeadLetterStore.layerMemory({ capacity: 10_000 })
    return redis.pipe(
      Layer.catchCause((cause) =>
        memory.pipe(
          Layer.tap(() => Effect.logWarning(`dead letters: memory (redis unreachable: ${Cause.squash(cause)})`))
        )
      )
    )
  })
).pipe((store) => DeadLetterQueue.layer.pipe(Layer.provideMerge(store)))

/**
 * OpenTelemetry: traces, metrics and logs over OTLP/HTTP (JSON) to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. `http://127.0.0.1:4318`), with
 * `OTEL_SERVICE_NAME` (default `eventfabric-example`). Without an endpoint,
 * nothing is exported.
 */
export const ProdTelemetry = Layer.unwrap(
  Effect.gen(function* () {
    const endpoint = yield* Config.String("OTEL_EXPORTER_OTLP_ENDPOINT").pipe(Config.withDefault(""))
    const serviceName = yield* Config.String("OTEL_SERVICE_NAME").pipe(Config.withDefault("eventfabric-example"))
    if (endpoint === "") return Layer.empty
    return Otlp.layerJson({ baseUrl: endpoint, resource: { serviceName } }).pipe(
      Layer.provide(FetchHttpClient.layer),
      Layer.tap(() => Effect.logInfo(`telemetry: OTLP to ${endpoint}`))
    )
  })
)

/**
 * Production: Tracing outermost (its spans time the whole chain), then
 * Metrics (sees what Validation rejects and Dedup suppresses), Validation,
 * Dedup; delivery side DeadLetter outside CircuitBreaker outside Retry. The
 * Prometheus endpoint listens on `METRICS_HOST:METRICS_PORT` (default
 * 127.0.0.1:9464; 0 picks a free port).
 */
export const Prod = Layer.unwrap(
  Effect.gen(function* () {
    const port = yield* Config.Int("METRICS_PORT").pipe(Config.withDefault(9464))
    const host = yield* Config.String("METRICS_HOST").pipe(Config.withDefault("127.0.0.1"))
    const bus = EventBus.layer({ lanes: { low: { capacity: 10_000, strategy: "sliding" } } }).pipe(
      Layer.provide(
        Plugin.layer(
          // This program publishes a handful of events: trace every one. The
          // default, 1 root event in 100, suits real traffic.
          Tracing.plugin({ sampleRatio: 1 }),
          Metrics.plugin({ sampleInterval: "5 seconds" }),
          Validation.plugin(),
          Dedup.plugin({ window: "1 second" }),
          DeadLetter.plugin(),
          CircuitBreaker.plugin({ failures: 5, openDuration: "30 seconds" }),
          Retry.plugin({ times: 3, base: "100 millis" })
        )
      ),
      Layer.provideMerge(ProdDeadLetters)
    )
    return Layer.mergeAll(
      bus,
      Prometheus.layer({ port, host }).pipe(
        Layer.tap(() =>
          Effect.logInfo(`metrics: Prometheus text on http://${host}:${port === 0 ? "<free port>" : port}/metrics`)
        )
      )
    ).pipe(Layer.provide(ProdTelemetry))
  })
)

/** The layer set of an environment. */
export const layerFor = (env: Environment) => ({ dev: Dev, test: Test, prod: Prod })[env]

/** The layer set named by `APP_ENV`. */
export const Selected = Layer.unwrap(Effect.map(AppEnv, layerFor))
