/**
 * A `DeadLetterStore` in Redis, shared by every process of a service: entries
 * as JSON in a hash, their order in a sorted set, bounded by `capacity`
 * (oldest evicted first, counted).
 *
 * @since 0.1.0
 */
import { type Errors, Options } from "@eventfabric/core"
import * as DeadLetterStore from "@eventfabric/plugins/DeadLetterStore"
import type * as StoreError from "@eventfabric/plugins/StoreError"
import { Effect, Exit, Layer, Option, Schema } from "effect"
import { Redis, script } from "effect/persistence/Redis"
import { storeError } from "./internal/redis.ts"

/**
 * Options: `prefix` of the keys (default `"eventfabric:dlq"`) and `capacity`
 * (default 10 000 entries).
 *
 * @since 0.1.0
 */
export const StoreOptions = Schema.Struct({
  prefix: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  capacity: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
})

const put = script(
  (entries: string, order: string, seq: string, evicted: string, id: string, json: string, capacity: number) => [
    entries,
    order,
    seq,
    evicted,
    id,
    json,
    capacity
  ],
  {
    numberOfKeys: 4,
    lua: `
local isNew = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if isNew == 1 then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
  local n = redis.call('ZCARD', KEYS[2])
  local gone = 0
  while n > tonumber(ARGV[3]) do
    local oldest = redis.call('ZPOPMIN', KEYS[2])
    redis.call('HDEL', KEYS[1], oldest[1])
    n = n - 1
    gone = gone + 1
  end
  if gone > 0 then redis.call('INCRBY', KEYS[4], gone) end
end
return isNew`
  }
)

const remove = script((entries: string, order: string, id: string) => [entries, order, id], {
  numberOfKeys: 2,
  lua: `redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])`
}).withReturnType<number>()

const Json = Schema.fromJsonString(DeadLetterStore.Entry)

const matches = (entry: DeadLetterStore.Entry, filter: DeadLetterStore.Filter | undefined): boolean =>
  filter === undefined ||
  ((filter.type === undefined || entry.envelope.type === filter.type) &&
    (filter.reason === undefined || entry.reason === filter.reason) &&
    (filter.subscription === undefined || entry.subscription === filter.subscription) &&
    (filter.before === undefined || entry.lastFailureAt < filter.before))

/**
 * Builds the store over the `Redis` service in context.
 *
 * @example
 * ```ts
 * import { RedisDeadLetterStore } from "@eventfabric/redis"
 * const store = RedisDeadLetterStore.make({ prefix: "shop:dlq", capacity: 50_000 })
 * ```
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options?: typeof StoreOptions.Encoded) {
  const decoded = yield* Options.decode(StoreOptions, "RedisDeadLetterStore", options)
  const prefix = decoded.prefix ?? "eventfabric:dlq"
  const capacity = decoded.capacity ?? 10_000
  const keys = {
    entries: `${prefix}:entries`,
    order: `${prefix}:order`,
    seq: `${prefix}:seq`,
    evicted: `${prefix}:evicted`
  }
  const redis = yield* Redis
  const fail = storeError("redis-dlq")
  const encode = Schema.encodeExit(Json)
  const decode = Schema.decodeUnknownExit(Json)

  const parse = (text: string): Effect.Effect<DeadLetterStore.Entry, StoreError.StoreError> => {
    const exit = decode(text)
    return Exit.isSuccess(exit) ? Effect.succeed(exit.value) : Effect.fail(fail(new Error(`corrupt entry: ${text}`)))
  }

  const list = (filter?: DeadLetterStore.Filter) =>
    Effect.gen(function* () {
      const ids = yield* redis.send<Array<string>>("ZRANGE", keys.order, "0", "-1")
      if (ids.length === 0) return []
      const texts = yield* redis.send<Array<string | null>>("HMGET", keys.entries, ...ids)
      const out: Array<DeadLetterStore.Entry> = []
      for (const text of texts) {
        if (text === null) continue
        const entry = yield* parse(text)
        if (!matches(entry, filter)) continue
        out.push(entry)
        if (filter?.limit !== undefined && out.length >= filter.limit) break
      }
      return out
    }).pipe(Effect.mapError((e) => (e._tag === "StoreError" ? e : fail(e))))

  return DeadLetterStore.DeadLetterStore.of({
    put: (entry) => {
      const exit = encode(entry)
      if (Exit.isFailure(exit)) return Effect.fail(fail(new Error(`entry ${entry.id} does not encode`)))
      return redis
        .eval(put)(keys.entries, keys.order, keys.seq, keys.evicted, entry.id, exit.value, capacity)
        .pipe(Effect.asVoid, Effect.mapError(fail))
    },
    get: (id) =>
      redis.send<string | null>("HGET", keys.entries, id).pipe(
        Effect.mapError(fail),
        Effect.flatMap((text) => (text === null ? Effect.succeedNone : Effect.map(parse(text), Option.some)))
      ),
    list,
    remove: (id) =>
      redis
        .eval(remove)(keys.entries, keys.order, id)
        .pipe(
          Effect.map((n) => Number(n) > 0),
          Effect.mapError(fail)
        ),
    purge: (filter) =>
      Effect.gen(function* () {
        if (filter === undefined) {
          const size = yield* redis.send<number>("ZCARD", keys.order).pipe(Effect.mapError(fail))
          yield* redis.send("DEL", keys.entries, keys.order).pipe(Effect.mapError(fail))
          return Number(size)
        }
        const doomed = yield* list(filter)
        yield* Effect.forEach(doomed, (e) => redis.eval(remove)(keys.entries, keys.order, e.id), {
          concurrency: 64,
          discard: true
        }).pipe(Effect.mapError(fail))
        return doomed.length
      }),
    stats: Effect.gen(function* () {
      const size = yield* redis.send<number>("ZCARD", keys.order)
      const evicted = yield* redis.send<string | null>("GET", keys.evicted)
      return { size: Number(size), capacity, evicted: Number(evicted ?? 0) }
    }).pipe(Effect.mapError(fail))
  })
})

/**
 * The store as a layer; needs `Redis` (e.g. `RedisConnection.layer`).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RedisConnection, RedisDeadLetterStore } from "@eventfabric/redis"
 *
 * const Dlq = RedisDeadLetterStore.layer({ prefix: "shop:dlq" }).pipe(Layer.provide(RedisConnection.layer()))
 * ```
 * @since 0.1.0
 */
export const layer = (
  options?: typeof StoreOptions.Encoded
): Layer.Layer<DeadLetterStore.DeadLetterStore, Errors.InvalidOptions, Redis> =>
  Layer.effect(DeadLetterStore.DeadLetterStore, make(options))
