/**
 * The inspector's HTTP surface on `effect/http`'s `HttpRouter`: the page, its
 * assets, a JSON API and a Server-Sent Events stream, mountable under any
 * prefix of an existing router, or served alone by `layerServer`.
 *
 * | route | does |
 * |---|---|
 * | `GET /` | the page |
 * | `GET /api/snapshot` | latest sample, chart history, system events, whether mutations are allowed |
 * | `GET /api/stream` | `text/event-stream`: one `update` event per sample |
 * | `GET /api/dlq?type=&reason=&subscription=&limit=` | dead letters (summaries) and the filter's choices |
 * | `GET /api/dlq/entry?id=` | one dead letter, envelope and cause through the Redactor |
 * | `POST /api/dlq/retry` `{ id }` | re-delivers one (bearer token) |
 * | `POST /api/dlq/retry-all` `{ type?, reason?, subscription? }` | re-delivers the filtered set (bearer token) |
 * | `POST /api/dlq/purge` `{ type?, reason?, subscription? }` | removes the filtered set (bearer token) |
 * | `POST /api/auth` | 204 when the bearer token is right, 401 otherwise |
 *
 * Mutations answer 401 without the right `Authorization: Bearer <token>`, and
 * 403 when no token is configured (read-only).
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import type { Errors, EventBus } from "@eventfabric/core"
import type { DeadLetterQueue } from "@eventfabric/plugins"
import { DeadLetterStore } from "@eventfabric/plugins"
import { type Config, Effect, Layer, Option, Schema, Stream } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { ServeError } from "effect/http/HttpServerError"
import * as Auth from "./Auth.ts"
import { Inspector, type InspectorOptions } from "./Inspector.ts"
import * as Assets from "./internal/assets.ts"

const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
}

const json = (body: unknown, status = 200) =>
  HttpServerResponse.jsonUnsafe(body, { status, headers: { "cache-control": "no-store" } })

const problem = (status: number, error: string, message: string) => json({ error, message }, status)

/**
 * The filter of a bulk DLQ action or a listing.
 *
 * @since 0.1.0
 */
export const Filter = Schema.Struct({
  type: Schema.optional(Schema.String),
  reason: Schema.optional(DeadLetterStore.Reason),
  subscription: Schema.optional(Schema.String)
})

const RetryBody = Schema.Struct({ id: Schema.String.check(Schema.isNonEmpty()) })

const queryFilter = Schema.Struct({
  type: Schema.optional(Schema.String),
  reason: Schema.optional(DeadLetterStore.Reason),
  subscription: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.NumberFromString.check(Schema.isInt(), Schema.isGreaterThan(0)))
})

/** Drops empty strings: the page's "any" choice. */
const nonEmpty = (params: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) =>
  Object.fromEntries(Object.entries(params).filter(([, v]) => typeof v === "string" && v.length > 0))

const withDlq = <R>(
  f: (
    dlq: DeadLetterQueue.DeadLetterQueue["Service"],
    inspector: Inspector["Service"]
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, R>
) =>
  Effect.flatMap(Inspector, (inspector) =>
    Option.isSome(inspector.dlq)
      ? f(inspector.dlq.value, inspector)
      : Effect.succeed(problem(404, "NoDeadLetterQueue", "this program has no DeadLetterQueue"))
  )

/** Runs a mutation only for a request with the right bearer token. */
const guarded = <R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, never, R>) =>
  Effect.gen(function* () {
    const inspector = yield* Inspector
    const request = yield* HttpServerRequest.HttpServerRequest
    const verdict = Auth.check(inspector.token, request.headers.authorization)
    if (verdict === "readOnly") {
      return problem(403, "ReadOnly", "no token is configured: the inspector is read-only")
    }
    if (verdict === "unauthorized") {
      return HttpServerResponse.jsonUnsafe(
        { error: "Unauthorized", message: "Authorization: Bearer <token> required" },
        { status: 401, headers: { "www-authenticate": 'Bearer realm="eventfabric-inspector"' } }
      )
    }
    return yield* effect
  })

const body = <A>(schema: Schema.Decoder<A>) =>
  HttpServerRequest.schemaBodyJson(schema).pipe(
    Effect.map(Option.some),
    Effect.catch(() => Effect.succeed(Option.none<A>()))
  )

const storeFailed = (e: { readonly message: string }) => Effect.succeed(problem(500, "StoreError", e.message))

const summary = (redact: (s: string) => string) => (entry: DeadLetterStore.Entry) => ({
  id: entry.id,
  type: entry.envelope.type,
  subscription: entry.subscription,
  reason: entry.reason,
  attempts: entry.attempts,
  firstFailureAt: entry.firstFailureAt,
  lastFailureAt: entry.lastFailureAt,
  cause: redact(entry.cause.split("\n", 1)[0] ?? "")
})

const routeList = (prefix: string) => {
  const assets = Assets.load()
  const page = Assets.page(prefix)
  const pageResponse = HttpServerResponse.text(page, {
    contentType: "text/html; charset=utf-8",
    headers: securityHeaders
  })
  return [
    HttpRouter.route("GET", "/", Effect.succeed(pageResponse)),
    ...[...assets].map(([path, asset]) =>
      HttpRouter.route(
        "GET",
        path as `/${string}`,
        Effect.succeed(
          HttpServerResponse.uint8Array(asset.body, {
            contentType: asset.contentType,
            headers: { "x-content-type-options": "nosniff", "cache-control": "no-cache" }
          })
        )
      )
    ),
    HttpRouter.route(
      "GET",
      "/api/snapshot",
      Effect.gen(function* () {
        const inspector = yield* Inspector
        return json({
          readOnly: Option.isNone(inspector.token),
          dlq: Option.isSome(inspector.dlq),
          intervalMs: inspector.interval.value._tag === "Millis" ? inspector.interval.value.millis : 1000,
          latest: (yield* inspector.latest) ?? null,
          history: yield* inspector.history,
          events: yield* inspector.events()
        })
      })
    ),
    HttpRouter.route(
      "GET",
      "/api/stream",
      Effect.map(Inspector, (inspector) => {
        const encoder = new TextEncoder()
        const frames = Stream.concat(
          Stream.make(encoder.encode("retry: 2000\n\n")),
          inspector.updates.pipe(
            Stream.map((update) => encoder.encode(`event: update\ndata: ${JSON.stringify(update)}\n\n`))
          )
        )
        return HttpServerResponse.stream(frames, {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-store", "x-accel-buffering": "no" }
        })
      })
    ),
    HttpRouter.route(
      "GET",
      "/api/dlq",
      withDlq((dlq, inspector) =>
        Effect.gen(function* () {
          const params = yield* HttpServerRequest.ParsedSearchParams
          const decoded = Schema.decodeUnknownOption(queryFilter)(nonEmpty(params))
          if (Option.isNone(decoded)) return problem(400, "InvalidFilter", "unknown reason or bad limit")
          const { limit, ...filter } = decoded.value
          const all = yield* dlq.list()
          const matching = yield* dlq.list(filter)
          const facet = (f: (e: DeadLetterStore.Entry) => string) => [...new Set(all.map(f))].sort()
          return json({
            total: all.length,
            matching: matching.length,
            entries: matching.slice(0, limit ?? 200).map(summary(inspector.redactor.string)),
            facets: {
              types: facet((e) => e.envelope.type),
              reasons: facet((e) => e.reason),
              subscriptions: facet((e) => e.subscription)
            }
          })
        }).pipe(Effect.catchTag("StoreError", storeFailed))
      )
    ),
    HttpRouter.route(
      "GET",
      "/api/dlq/entry",
      withDlq((dlq, inspector) =>
        Effect.gen(function* () {
          const params = yield* HttpServerRequest.ParsedSearchParams
          const id = typeof params.id === "string" ? params.id : ""
          const found = yield* dlq.get(id)
          if (Option.isNone(found)) return problem(404, "EntryNotFound", `no dead letter with id ${id}`)
          const entry = found.value
          return json({
            ...entry,
            envelope: inspector.redactor.redact(entry.envelope),
            cause: inspector.redactor.string(entry.cause)
          })
        }).pipe(Effect.catchTag("StoreError", storeFailed))
      )
    ),
    HttpRouter.route(
      "POST",
      "/api/dlq/retry",
      guarded(
        withDlq((dlq, inspector) =>
          Effect.gen(function* () {
            const decoded = yield* body(RetryBody)
            if (Option.isNone(decoded)) return problem(400, "InvalidBody", "expected { id: string }")
            const outcome = yield* dlq.retry(decoded.value.id)
            return json(
              {
                subscription: outcome.subscription,
                status: outcome.status,
                error: outcome.error === undefined ? undefined : inspector.redactor.string(outcome.error.message)
              },
              outcome.status === "succeeded" ? 200 : 409
            )
          }).pipe(
            Effect.catch((e) =>
              Effect.succeed(
                e._tag === "EntryNotFound"
                  ? problem(404, e._tag, e.message)
                  : e._tag === "NoSubscription"
                    ? problem(409, e._tag, e.message)
                    : problem(500, e._tag, inspector.redactor.string(e.message))
              )
            )
          )
        )
      )
    ),
    HttpRouter.route(
      "POST",
      "/api/dlq/retry-all",
      guarded(
        withDlq((dlq) =>
          Effect.gen(function* () {
            const decoded = yield* body(Filter)
            if (Option.isNone(decoded)) return problem(400, "InvalidBody", "expected { type?, reason?, subscription? }")
            const result = yield* dlq.retryAll(decoded.value)
            return json({
              total: result.total,
              succeeded: result.succeeded,
              failed: result.failed,
              errors: result.errors.length
            })
          }).pipe(Effect.catchTag("StoreError", storeFailed))
        )
      )
    ),
    HttpRouter.route(
      "POST",
      "/api/dlq/purge",
      guarded(
        withDlq((dlq) =>
          Effect.gen(function* () {
            const decoded = yield* body(Filter)
            if (Option.isNone(decoded)) return problem(400, "InvalidBody", "expected { type?, reason?, subscription? }")
            return json({ purged: yield* dlq.purge(decoded.value) })
          }).pipe(Effect.catchTag("StoreError", storeFailed))
        )
      )
    ),
    HttpRouter.route("POST", "/api/auth", guarded(Effect.succeed(HttpServerResponse.empty({ status: 204 }))))
  ] as const
}

/**
 * The routes, under `prefix` (e.g. `"/inspector"`; none: at the root), for an
 * existing router. Needs the `Inspector` service.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 * import { Inspector, Routes } from "@eventfabric/inspector"
 * declare const AppRoutes: Layer.Layer<never, never, HttpRouter.HttpRouter>
 * const All = Layer.mergeAll(AppRoutes, Routes.layer({ prefix: "/inspector" })).pipe(
 *   Layer.provide(Inspector.Inspector.layer())
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: { readonly prefix?: string | undefined } = {}) => {
  const prefix = (options.prefix ?? "").replace(/\/+$/, "")
  return HttpRouter.addAll(
    Effect.sync(() => routeList(prefix)),
    prefix === "" ? undefined : { prefix }
  )
}

/**
 * The inspector alone on its own server: `host` defaults to 127.0.0.1, `port`
 * to 0 (a free one; read it from `HttpServer.HttpServer`'s `address`). Needs
 * the `EventBus` (and uses the `DeadLetterQueue`, `Redactor`, `HandleTimes`
 * found in context).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus } from "@eventfabric/core"
 * import { Routes } from "@eventfabric/inspector"
 * const Main = Routes.layerServer({ port: 9400 }).pipe(Layer.provide(EventBus.EventBus.layer()))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerServer = (
  options: InspectorOptions & { readonly port?: number | undefined; readonly host?: string | undefined } = {}
): Layer.Layer<
  HttpServer.HttpServer | Inspector,
  ServeError | Config.ConfigError | Errors.InvalidOptions,
  EventBus.EventBus
> =>
  HttpRouter.serve(layer(), { disableListenLog: true, disableLogger: true }).pipe(
    Layer.provideMerge(
      NodeHttpServer.layer(() => createServer(), {
        port: options.port ?? 0,
        host: options.host ?? "127.0.0.1",
        gracefulShutdownTimeout: "1 second"
      })
    ),
    Layer.provideMerge(Inspector.layer(options))
  )

/**
 * The URL of the server in context (`http://host:port/`), for printing.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Routes } from "@eventfabric/inspector"
 * const announce = Effect.flatMap(Routes.url, (url) => Effect.log(`inspector on ${url}`))
 * ```
 * @since 0.1.0
 */
export const url: Effect.Effect<string, never, HttpServer.HttpServer> = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address
  if (address._tag === "UnixPathAddress") return `unix:${address.path}`
  const host = address._tag === "InetAddressV6" ? `[${String(address.address)}]` : String(address.address)
  return `http://${host}:${address.port}/`
})
