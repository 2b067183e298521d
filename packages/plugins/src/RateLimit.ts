/**
 * RateLimit: at most `limit` deliveries per `window`, counted per
 * subscription, per event type or per key taken from the envelope (a tenant),
 * on `effect/persistence`'s `RateLimiter` — in memory for one process, in
 * Redis for a limit shared by every process.
 *
 * Past the limit, the `delay` policy (default) holds the delivery until the
 * limiter allows it (the subscription slows down; with a `suspend` mailbox
 * that becomes backpressure, nothing lost); the `fail` policy fails it at once
 * with a `HandlerError` whose cause is the limiter's `RateLimitExceeded`, so
 * `Retry` (placed outside) retries it later and `DeadLetter` stores it. Every
 * check, delay and refusal is counted in the plugin's `stats`.
 *
 * Deliveries the `types` / `subscriptions` filters leave out pass untouched,
 * and a bus without the plugin runs none of this.
 *
 * @since 0.2.0
 */
import { Delivery, type Errors, type Middleware, Options, Plugin, Selector } from "@eventfabric/core"
import { Cause, Duration, Effect, Layer, Schema } from "effect"
import { RateLimiter, type Redis } from "effect/persistence"

/**
 * The plugin's config, decoded when its layer builds.
 *
 * - `limit` / `window`: at most `limit` deliveries per `window` for each key.
 * - `per`: what a key is — `"subscription"` (default), `"type"` (the event
 *   type, shared by all the subscriptions it reaches) or `"key"` (from
 *   `Extra.key`, e.g. the tenant in the payload; with the subscription name,
 *   so each subscription limits each tenant separately).
 * - `onExceeded`: `"delay"` (default) or `"fail"`.
 * - `algorithm`: `"fixed-window"` (default) or `"token-bucket"`.
 * - `types`: only events whose type matches one of these names or patterns
 *   (`"orders.*"`); default all.
 * - `subscriptions`: only these subscriptions; default all.
 * - `prefix`: prepended to every limiter key (default `"eventfabric"`), so
 *   several buses can share one Redis.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { RateLimit } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(RateLimit.Config)({ limit: 100, window: "1 second", per: "key" })
 * ```
 * @since 0.2.0
 */
export const Config = Schema.Struct({
  limit: Schema.Int.check(Schema.isGreaterThan(0)),
  window: Options.DurationInput,
  per: Schema.optional(Schema.Literals(["subscription", "type", "key"])),
  onExceeded: Schema.optional(Schema.Literals(["delay", "fail"])),
  algorithm: Schema.optional(Schema.Literals(["fixed-window", "token-bucket"])),
  types: Schema.optional(Schema.Array(Schema.String.check(Schema.isNonEmpty()))),
  subscriptions: Schema.optional(Schema.Array(Schema.String.check(Schema.isNonEmpty()))),
  prefix: Schema.optional(Schema.String)
})

/**
 * The config as a caller writes it.
 *
 * @since 0.2.0
 */
export type Config = typeof Config.Encoded

/**
 * What cannot be a Schema'd value: the key function of `per: "key"`. An
 * envelope it answers `undefined` for is not limited.
 *
 * @since 0.2.0
 */
export interface Extra {
  readonly key?: ((envelope: { readonly type: string; readonly payload: any }) => string | undefined) | undefined
}

/**
 * The plugin's counters.
 *
 * - `checked`: deliveries the limiter was asked about.
 * - `delayed`: of those, held by the `delay` policy; `delayedMillis` in total.
 * - `refused`: failed by the `fail` policy.
 * - `storeErrors`: the limiter's store failed (e.g. Redis down); the delivery
 *   then fails with that `HandlerError` too, rather than run unlimited.
 *
 * @since 0.2.0
 */
export interface Stats {
  readonly checked: number
  readonly delayed: number
  readonly delayedMillis: number
  readonly refused: number
  readonly storeErrors: number
}

/**
 * The plugin value, with its counters.
 *
 * @since 0.2.0
 */
export interface RateLimitPlugin extends Plugin.Plugin<Errors.InvalidOptions, RateLimiter.RateLimiter> {
  readonly stats: Effect.Effect<Stats>
}

/**
 * The limiter over an in-memory store: one process, the bus's `Clock`
 * (TestClock drives it in tests).
 *
 * @since 0.2.0
 */
export const layerMemory: Layer.Layer<RateLimiter.RateLimiter> = RateLimiter.layer.pipe(
  Layer.provide(RateLimiter.layerStoreMemory)
)

/**
 * The limiter over Redis (`effect/persistence`'s `Redis`, e.g. from
 * `NodeRedis.layer`): one limit shared by every process using the prefix.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { NodeRedis } from "@effect/platform-node"
 * import { RateLimit } from "@eventfabric/plugins"
 * const Limiter = RateLimit.layerRedis({ prefix: "app:ratelimit:" }).pipe(
 *   Layer.provide(NodeRedis.layer({ url: "redis://127.0.0.1:6379" }))
 * )
 * ```
 * @since 0.2.0
 */
export const layerRedis = (options?: {
  readonly prefix?: string | undefined
}): Layer.Layer<RateLimiter.RateLimiter, never, Redis.Redis> =>
  RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreRedis(options)))

interface Counters {
  checked: number
  delayed: number
  delayedMillis: number
  refused: number
  storeErrors: number
}

/**
 * The middleware for a decoded config, a limiter and counters.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { RateLimiter } from "effect/persistence"
 * import { RateLimit } from "@eventfabric/plugins"
 * const m = Effect.map(RateLimiter.RateLimiter, (limiter) =>
 *   RateLimit.middleware({ limit: 10, window: Duration.seconds(1) }, limiter))
 * ```
 * @since 0.2.0
 */
export const middleware = (
  config: typeof Config.Type,
  limiter: RateLimiter.RateLimiter,
  extra?: Extra,
  counters: Counters = { checked: 0, delayed: 0, delayedMillis: 0, refused: 0, storeErrors: 0 }
): Middleware.DeliveryMiddleware => {
  const per = config.per ?? "subscription"
  const onExceeded = config.onExceeded ?? "delay"
  const prefix = config.prefix ?? "eventfabric"
  const types = config.types?.map((t) => (t.includes("*") ? Selector.pattern(t) : undefined))
  const names = config.types
  const subs = config.subscriptions === undefined ? undefined : new Set(config.subscriptions)
  const typeMatches = (type: string) =>
    names === undefined || names.some((n, i) => (types![i] === undefined ? n === type : types![i]!.regex.test(type)))
  const keyOf = (delivery: Delivery.Delivery): string | undefined => {
    switch (per) {
      case "subscription":
        return `${prefix}:sub:${delivery.subscription.name}`
      case "type":
        return `${prefix}:type:${delivery.envelope.type}`
      case "key": {
        const k = extra?.key?.(delivery.envelope)
        return k === undefined ? undefined : `${prefix}:key:${delivery.subscription.name}:${k}`
      }
    }
  }
  const base = { limit: config.limit, window: config.window, algorithm: config.algorithm, onExceeded } as const
  return (next) => (delivery) => {
    if ((subs !== undefined && !subs.has(delivery.subscription.name)) || !typeMatches(delivery.envelope.type)) {
      return next(delivery)
    }
    const key = keyOf(delivery)
    if (key === undefined) return next(delivery)
    counters.checked++
    return Effect.flatMap(
      Effect.catch(limiter.consume({ ...base, key }), (error) => {
        if (error.reason._tag === "RateLimitExceeded") counters.refused++
        else counters.storeErrors++
        return Effect.fail(
          new Delivery.HandlerError({ subscription: delivery.subscription.name, cause: Cause.fail(error.reason) })
        )
      }),
      (result) => {
        const millis = Duration.toMillis(result.delay)
        if (millis <= 0) return next(delivery)
        counters.delayed++
        counters.delayedMillis += millis
        return Effect.andThen(Effect.sleep(result.delay), next(delivery))
      }
    )
  }
}

/**
 * The RateLimit plugin. Needs a `RateLimiter` (`layerMemory` or
 * `layerRedis`); its config is decoded when `Plugin.layer` builds. Place it
 * inside `Retry` (later in `Plugin.layer(...)`) so a `fail` refusal is retried
 * with backoff.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { RateLimit } from "@eventfabric/plugins"
 *
 * const perTenant = RateLimit.plugin(
 *   { limit: 50, window: "1 second", per: "key", types: ["orders.*"] },
 *   { key: (e) => e.payload.tenant }
 * )
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(perTenant)),
 *   Layer.provide(RateLimit.layerMemory)
 * )
 * // later: yield* perTenant.stats
 * ```
 * @since 0.2.0
 */
export const plugin = (config: Config, extra?: Extra): RateLimitPlugin => {
  const counters: Counters = { checked: 0, delayed: 0, delayedMillis: 0, refused: 0, storeErrors: 0 }
  const built = Plugin.make(
    "RateLimit",
    Effect.gen(function* () {
      const decoded = yield* Options.decode(Config, "RateLimit", config)
      const limiter = yield* RateLimiter.RateLimiter
      const delivery = middleware(decoded, limiter, extra, counters)
      return () => Effect.succeed({ delivery })
    })
  )
  return { ...built, stats: Effect.sync(() => ({ ...counters })) }
}
