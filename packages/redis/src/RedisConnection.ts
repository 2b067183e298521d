/**
 * The Redis connection: `@effect/platform-node` NodeRedis with the options a
 * transport wants, decoded by Schema.
 *
 * @since 0.1.0
 */
import { NodeRedis } from "@effect/platform-node"
import { type Errors, Options } from "@eventfabric/core"
import { Duration, Effect, Layer, Schema } from "effect"
import type { Redis, RedisError } from "effect/persistence/Redis"

/**
 * Options: `url` (default `redis://127.0.0.1:6379`), `maxConnections` for the
 * dedicated (blocking-read) connections (default 10), `connectTimeout`
 * (default 5 s).
 *
 * @since 0.1.0
 */
export const ConnectionOptions = Schema.Struct({
  url: Schema.optional(
    Schema.String.check(Schema.isPattern(/^rediss?:\/\/.+/, { expected: "a redis:// or rediss:// URL" }))
  ),
  maxConnections: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  connectTimeout: Schema.optional(Options.DurationInput)
})

/**
 * A connection layer providing `Redis` (and `NodeRedis`).
 *
 * The shared client reconnects with exponential backoff (50 ms doubling, up to
 * 2 s, plus jitter) once it has been ready; its offline queue is disabled, so a
 * command sent while Redis is down fails at once instead of waiting in an
 * unbounded buffer. The first connection must succeed: a service does not
 * start against a Redis that is not there.
 *
 * @example
 * ```ts
 * import { RedisConnection } from "@eventfabric/redis"
 * const Live = RedisConnection.layer({ url: "redis://127.0.0.1:6379" })
 * ```
 * @since 0.1.0
 */
export const layer = (
  options?: typeof ConnectionOptions.Encoded
): Layer.Layer<Redis | NodeRedis.NodeRedis, Errors.InvalidOptions | RedisError> =>
  Layer.unwrap(
    Effect.map(Options.decode(ConnectionOptions, "RedisConnection", options), (decoded) =>
      NodeRedis.layer({
        url: decoded.url ?? "redis://127.0.0.1:6379",
        disableOfflineQueue: true,
        maxConnections: decoded.maxConnections ?? 10,
        socket: { connectTimeout: Duration.toMillis(decoded.connectTimeout ?? Duration.seconds(5)) }
      })
    )
  )
