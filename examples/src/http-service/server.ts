/**
 * An HTTP service over the bus, with `effect/http` (HttpRouter) served by
 * `@effect/platform-node`, safe to copy: every route needs the bearer token,
 * bodies are limited, publishes are rate limited per client, dead letters
 * leave redacted, and errors are `{ code, message }` without stack traces.
 *
 * | route | does |
 * |---|---|
 * | `POST /orders` | decodes the JSON body with the definition's Schema (`Validation.publishUnknown`): 202 + receipt, 400 `InvalidEvent`, 413, 429 |
 * | `GET /stats` | the bus's counters |
 * | `GET /dlq` | dead letters, oldest first, payloads redacted, the failure's first line only |
 * | `POST /dlq/:id/retry` | re-delivers one (URL-encode the id: it contains `/`); 404 when unknown |
 * | `GET /metrics` | Prometheus text exposition |
 * | anything else | 404 `NotFound` |
 *
 * Without `Authorization: Bearer <HTTP_TOKEN>` every route answers 401.
 */
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { EventBus, Plugin } from "@eventfabric/core"
import { DeadLetter, DeadLetterQueue, type DeadLetterStore, Metrics, Redaction, Validation } from "@eventfabric/plugins"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { RateLimiter } from "effect/persistence"
import { internal, respond } from "./errors.ts"
import { OrderPlaced, registry } from "./events.ts"
import { type GuardOptions, guard, rateLimited } from "./guard.ts"

/**
 * The bus: Metrics outermost, Validation, Redaction (egress: what leaves the
 * process is masked), then DeadLetter on the delivery side; a bounded memory
 * DLQ. Exposes `EventBus | DeadLetterQueue | Redactor`.
 */
export const Bus = EventBus.EventBus.layer().pipe(
  Layer.provide(
    Plugin.layer(
      Metrics.plugin({ sampleInterval: "1 second" }),
      Validation.plugin(),
      Redaction.plugin(),
      DeadLetter.plugin()
    )
  ),
  Layer.provideMerge(DeadLetterQueue.layerMemory({ capacity: 10_000 })),
  Layer.provideMerge(Redaction.Redactor.layer())
)

/**
 * The fulfilment subscription: a stand-in for a call to a warehouse that is
 * down the first time it sees a `flaky` SKU. Lives as long as the service.
 */
export const Fulfilment = Layer.effectDiscard(
  Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    yield* bus.subscribe(
      OrderPlaced,
      (e) =>
        e.payload.sku === "flaky" && e.attempt === 1
          ? Effect.fail(new Error(`warehouse unavailable for ${e.payload.orderId}`))
          : Effect.logInfo(`fulfilled ${e.payload.orderId} (attempt ${e.attempt})`),
      { name: "fulfilment" }
    )
  })
)

/** A dead letter as it leaves the service: redacted, and the failure's first line without a stack or a path. */
const publicEntry = (redactor: Redaction.RedactorShape, entry: DeadLetterStore.Entry) => ({
  id: entry.id,
  subscription: entry.subscription,
  reason: entry.reason,
  attempts: entry.attempts,
  firstFailureAt: entry.firstFailureAt,
  lastFailureAt: entry.lastFailureAt,
  envelope: redactor.redact(entry.envelope),
  error: redactor.string(entry.cause.split("\n", 1)[0] ?? "")
})

const orders = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const body = yield* Effect.result(request.json)
  if (body._tag === "Failure") {
    return body.failure.reason._tag === "RequestParseError" && String(body.failure.cause).includes("maxBytes")
      ? respond("PayloadTooLarge", "the body is over the limit")
      : respond("InvalidEvent", "Expected a JSON body")
  }
  const bus = yield* EventBus.EventBus
  return yield* Validation.publishUnknown(bus, registry, OrderPlaced.name, body.success, { source: "http" }).pipe(
    Effect.map((receipt) => HttpServerResponse.jsonUnsafe(receipt, { status: 202 })),
    Effect.catchTag("InvalidEvent", (e) => Effect.succeed(respond("InvalidEvent", e.message))),
    Effect.catchTag(["BackpressureError", "BusClosedError"], (e) => Effect.succeed(respond("Unavailable", e.message)))
  )
})

const stats = Effect.flatMap(EventBus.EventBus, (bus) => Effect.map(bus.stats, (s) => HttpServerResponse.jsonUnsafe(s)))

const metrics = Effect.map(PrometheusMetrics.format(), (text) =>
  HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
)

const deadLetters = Effect.gen(function* () {
  const dlq = yield* DeadLetterQueue.DeadLetterQueue
  const redactor = yield* Redaction.Redactor
  const entries = yield* dlq.list()
  return HttpServerResponse.jsonUnsafe(entries.map((entry) => publicEntry(redactor, entry)))
})

const retry = Effect.gen(function* () {
  const { id } = yield* HttpRouter.params
  const dlq = yield* DeadLetterQueue.DeadLetterQueue
  return yield* dlq.retry(id ?? "").pipe(
    Effect.map((outcome) =>
      outcome.status === "succeeded"
        ? HttpServerResponse.jsonUnsafe({ subscription: outcome.subscription, status: outcome.status })
        : respond("Conflict", `the retry ended ${outcome.status}`)
    ),
    Effect.catchTag("EntryNotFound", () => Effect.succeed(respond("NotFound", "no dead letter with that id")))
  )
})

/** The routes, each behind the guard; anything unexpected answers `500 Internal`. */
export const routes = (options: GuardOptions) => {
  const guarded = guard(options)
  return Layer.mergeAll(
    HttpRouter.add("POST", "/orders", internal(guarded(rateLimited(options)(orders)))),
    HttpRouter.add("GET", "/stats", internal(guarded(stats))),
    HttpRouter.add("GET", "/dlq", internal(guarded(deadLetters))),
    HttpRouter.add("POST", "/dlq/:id/retry", internal(guarded(retry))),
    HttpRouter.add("GET", "/metrics", internal(guarded(metrics))),
    HttpRouter.add("*", "*", Effect.succeed(respond("NotFound", "no such route")))
  )
}

/** Defaults for the guard: 64 KiB bodies, 100 publishes per client per second. */
export const defaults = { maxBodyBytes: 65_536, publishLimit: 100, publishWindow: "1 second" } as const

/**
 * The whole service on `host:port` (port 0 picks a free one; read it from
 * `HttpServer.HttpServer`'s `address`).
 *
 * @example
 * ```ts
 * import { Duration, Layer, Redacted } from "effect"
 * import { layer } from "./server.ts"
 * Layer.launch(layer({ port: 3000, host: "127.0.0.1", token: Redacted.make("s3cret"),
 *   maxBodyBytes: 65_536, publishLimit: 100, publishWindow: Duration.seconds(1) }))
 * ```
 */
export const layer = (options: { readonly port: number; readonly host: string } & GuardOptions) =>
  HttpRouter.serve(routes(options), { disableListenLog: true, disableLogger: true }).pipe(
    Layer.provide(Fulfilment),
    Layer.provide(RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreMemory))),
    Layer.provideMerge(NodeHttpServer.layer(createServer, options)),
    Layer.provideMerge(Bus)
  )
