/**
 * A `DedupStore` in Redis: `SET key 1 NX PX window`, so a key claimed by one
 * process is a repeat for every other process inside the window.
 *
 * @since 0.1.0
 */
import { type Errors, Options } from "@eventfabric/core"
import * as DedupStore from "@eventfabric/plugins/DedupStore"
import { Duration, Effect, Layer, Schema } from "effect"
import { Redis } from "effect/persistence/Redis"
import { scanKeys, storeError } from "./internal/redis.ts"

/**
 * Options: `prefix` of the keys (default `"eventfabric:dedup"`).
 *
 * @since 0.1.0
 */
export const StoreOptions = Schema.Struct({
  prefix: Schema.optional(Schema.String.check(Schema.isNonEmpty()))
})

/**
 * Builds the store over the `Redis` service in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RedisDedupStore } from "@eventfabric/redis"
 *
 * const store = RedisDedupStore.make({ prefix: "shop:dedup" })
 * ```
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options?: typeof StoreOptions.Encoded) {
  const decoded = yield* Options.decode(StoreOptions, "RedisDedupStore", options)
  const prefix = decoded.prefix ?? "eventfabric:dedup"
  const redis = yield* Redis
  const fail = storeError("redis-dedup")
  return DedupStore.DedupStore.of({
    claim: (key, window) => {
      const ms = Math.max(1, Math.ceil(Duration.toMillis(Duration.fromInputUnsafe(window))))
      return redis.send<string | null>("SET", `${prefix}:${key}`, "1", "NX", "PX", String(ms)).pipe(
        Effect.map((reply) => reply !== null),
        Effect.mapError(fail)
      )
    },
    size: scanKeys(redis.send, `${prefix}:*`).pipe(
      Effect.map((keys) => keys.length),
      Effect.mapError(fail)
    )
  })
})

/**
 * The store as a layer; needs `Redis` (e.g. `RedisConnection.layer`).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RedisConnection, RedisDedupStore } from "@eventfabric/redis"
 *
 * const Dedup = RedisDedupStore.layer({ prefix: "shop:dedup" }).pipe(Layer.provide(RedisConnection.layer()))
 * ```
 * @since 0.1.0
 */
export const layer = (
  options?: typeof StoreOptions.Encoded
): Layer.Layer<DedupStore.DedupStore, Errors.InvalidOptions, Redis> =>
  Layer.effect(DedupStore.DedupStore, make(options))
