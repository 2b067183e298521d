/**
 * An HTTP service over the bus, with `effect/http` (HttpRouter) served by
 * `@effect/platform-node`:
 *
 * | route | does |
 * |---|---|
 * | `POST /orders` | decodes the JSON body with the definition's Schema (`Validation.publishUnknown`): 202 + receipt, or 400 + Schema's message |
 * | `GET /stats` | the bus's counters |
 * | `GET /dlq` | dead letters, oldest first |
 * | `POST /dlq/:id/retry` | re-delivers one (URL-encode the id: it contains `/`); 404 when unknown |
 * | `GET /metrics` | Prometheus text exposition |
 */
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { EventBus, Plugin } from "@eventfabric/core"
import { DeadLetter, DeadLetterQueue, Metrics, Validation } from "@eventfabric/plugins"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { OrderPlaced, registry } from "./events.ts"

/**
 * The bus: Metrics outermost, Validation, then DeadLetter on the delivery
 * side; a bounded memory DLQ. Exposes `EventBus | DeadLetterQueue`.
 */
export const Bus = EventBus.EventBus.layer().pipe(
  Layer.provide(Plugin.layer(Metrics.plugin({ sampleInterval: "1 second" }), Validation.plugin(), DeadLetter.plugin())),
  Layer.provideMerge(DeadLetterQueue.layerMemory({ capacity: 10_000 }))
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

const badRequest = (message: string) =>
  HttpServerResponse.jsonUnsafe({ error: "InvalidEvent", message }, { status: 400 })

/** The routes. */
export const Routes = Layer.mergeAll(
  HttpRouter.add(
    "POST",
    "/orders",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* Effect.option(request.json)
      if (body._tag === "None") return badRequest("Expected a JSON body")
      const bus = yield* EventBus.EventBus
      return yield* Validation.publishUnknown(bus, registry, OrderPlaced.name, body.value, { source: "http" }).pipe(
        Effect.map((receipt) => HttpServerResponse.jsonUnsafe(receipt, { status: 202 })),
        Effect.catchTag("InvalidEvent", (e) => Effect.succeed(badRequest(e.message))),
        Effect.catchTag(["BackpressureError", "BusClosedError"], (e) =>
          Effect.succeed(HttpServerResponse.jsonUnsafe({ error: e._tag, message: e.message }, { status: 503 }))
        )
      )
    })
  ),
  HttpRouter.add(
    "GET",
    "/stats",
    Effect.flatMap(EventBus.EventBus, (bus) => Effect.map(bus.stats, (s) => HttpServerResponse.jsonUnsafe(s)))
  ),
  HttpRouter.add(
    "GET",
    "/dlq",
    Effect.gen(function* () {
      const dlq = yield* DeadLetterQueue.DeadLetterQueue
      return HttpServerResponse.jsonUnsafe(yield* dlq.list())
    })
  ),
  HttpRouter.add(
    "POST",
    "/dlq/:id/retry",
    Effect.gen(function* () {
      const { id } = yield* HttpRouter.params
      const dlq = yield* DeadLetterQueue.DeadLetterQueue
      return yield* dlq.retry(id ?? "").pipe(
        Effect.map((outcome) =>
          HttpServerResponse.jsonUnsafe(
            { subscription: outcome.subscription, status: outcome.status, error: outcome.error?.message },
            { status: outcome.status === "succeeded" ? 200 : 409 }
          )
        ),
        Effect.catchTag("EntryNotFound", (e) =>
          Effect.succeed(HttpServerResponse.jsonUnsafe({ error: e._tag, message: e.message }, { status: 404 }))
        )
      )
    })
  ),
  PrometheusMetrics.layerHttp({ path: "/metrics" })
)

/**
 * The whole service on `host:port` (port 0 picks a free one; read it from
 * `HttpServer.HttpServer`'s `address`).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { layer } from "./server.ts"
 * Layer.launch(layer({ port: 3000, host: "127.0.0.1" }))
 * ```
 */
export const layer = (options: { readonly port: number; readonly host: string }) =>
  HttpRouter.serve(Routes, { disableListenLog: true }).pipe(
    Layer.provide(Fulfilment),
    Layer.provideMerge(NodeHttpServer.layer(createServer, options)),
    Layer.provideMerge(Bus)
  )
