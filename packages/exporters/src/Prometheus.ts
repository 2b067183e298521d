/**
 * Prometheus: the `Metric.MetricRegistry` (where the Metrics plugin writes
 * its series) served as Prometheus text exposition over HTTP with
 * `NodeHttpServer`.
 *
 * @since 0.2.0
 */
import type * as Http from "node:http"
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Options as CoreOptions, type Errors } from "@eventfabric/core"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, type HttpServer, type HttpServerError } from "effect/http"
import { PrometheusMetrics } from "effect/observability"

/**
 * Where the endpoint listens. `port` 0 picks a free port (read it from
 * `HttpServer.HttpServer`'s `address`).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Prometheus } from "@eventfabric/exporters"
 * Schema.decodeUnknownSync(Prometheus.Options)({ port: 9464, host: "0.0.0.0" })
 * ```
 * @category options
 * @since 0.2.0
 */
export const Options = Schema.Struct({
  port: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
  host: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  path: Schema.optional(Schema.String.check(Schema.isPattern(/^\//, { expected: "a path starting with /" }))),
  prefix: Schema.optional(Schema.String)
})

/**
 * @category options
 * @since 0.2.0
 */
export type Options = typeof Options.Encoded

/**
 * Serves the registry as Prometheus text (`GET /metrics` on 127.0.0.1:9464
 * by default). The layer also provides the `HttpServer`, whose `address`
 * tells the bound port. A bad option fails the layer with `InvalidOptions`
 * naming `Prometheus.layer` and the path.
 *
 * @example
 * ```ts
 * import { Prometheus } from "@eventfabric/exporters"
 * const Observability = Prometheus.layer({ port: 9464, host: "0.0.0.0" })
 * ```
 * @category layers
 * @since 0.2.0
 */
export const layer = (
  options?: Options
): Layer.Layer<HttpServer.HttpServer, Errors.InvalidOptions | HttpServerError.ServeError> =>
  Layer.unwrap(
    Effect.map(CoreOptions.decode(Options, "Prometheus.layer", options), (decoded) => {
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
