/**
 * Retry: re-runs a failed delivery on a `Schedule` (exponential backoff with
 * jitter, capped), up to a number of retries, for the errors a predicate
 * accepts. Each try carries the next `attempt` number on its envelope.
 *
 * Place it inside `CircuitBreaker` and `DeadLetter` (later in
 * `Plugin.layer(...)`): the breaker then sees one outcome per delivery and the
 * dead-letter queue sees the failure that remains once retries gave up.
 *
 * @since 0.1.0
 */
import type { Delivery, Errors, Middleware } from "@eventfabric/core"
import { Options as CoreOptions, Plugin } from "@eventfabric/core"
import { Duration, Effect, Schedule, Schema } from "effect"
import { noteAttempts } from "./internal/attempts.ts"
import * as RetryLater from "./RetryLater.ts"

/**
 * The delivery errors a retry may be configured for. `CircuitOpen` is off by
 * default: retrying a rejection only hammers an open circuit.
 *
 * @since 0.1.0
 */
export const Retryable = Schema.Literals(["HandlerError", "HandlerTimeout", "CircuitOpen"])

/**
 * @since 0.1.0
 */
export type Retryable = typeof Retryable.Type

/**
 * The plugin's options, decoded when its layer builds.
 *
 * - `times`: retries after the first try (default 3, so at most 4 tries).
 * - `base`: the first delay (default 100 ms); each next one is `factor` (default 2) times longer.
 * - `maxDelay`: cap of one delay (default 10 s).
 * - `jitter`: scale each delay by a random factor in [0.8, 1.2] (default true).
 * - `retryOn`: the error tags retried (default `HandlerError`, `HandlerTimeout`).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Retry } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Retry.Options)({ times: 5, base: "50 millis" })
 * ```
 * @category options
 * @since 0.2.0
 */
export const Options = Schema.Struct({
  times: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  base: Schema.optional(CoreOptions.DurationInput),
  factor: Schema.optional(Schema.Number.check(Schema.isGreaterThanOrEqualTo(1))),
  maxDelay: Schema.optional(CoreOptions.DurationInput),
  jitter: Schema.optional(Schema.Boolean),
  retryOn: Schema.optional(Schema.Array(Retryable))
})

/**
 * The options as a caller writes them.
 *
 * @category options
 * @since 0.2.0
 */
export type Options = typeof Options.Encoded

/**
 * What cannot be a Schema'd value: an extra predicate on the error (both the
 * tag list and the predicate must accept an error for it to be retried).
 *
 * @example
 * ```ts
 * import { Retry } from "@eventfabric/plugins"
 * const p = Retry.plugin({ times: 2 }, { while: (e) => e._tag !== "HandlerError" || !String(e.cause).includes("400") })
 * ```
 * @since 0.1.0
 */
export interface Extra {
  readonly while?: ((error: Delivery.DeliveryError) => boolean) | undefined
}

/**
 * The resolved policy the middleware runs.
 *
 * @since 0.1.0
 */
export interface Policy {
  readonly times: number
  readonly schedule: Schedule.Schedule<unknown, unknown>
  readonly shouldRetry: (error: Delivery.DeliveryError | Delivery.DeadLettered) => boolean
}

/**
 * Builds the schedule: `exponential(base, factor)`, jittered, each delay capped
 * at `maxDelay`.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { Retry } from "@eventfabric/plugins"
 * const s = Retry.schedule({ base: Duration.millis(100), factor: 2, maxDelay: Duration.seconds(5), jitter: true })
 * ```
 * @since 0.1.0
 */
export const schedule = (options: {
  readonly base: Duration.Duration
  readonly factor: number
  readonly maxDelay: Duration.Duration
  readonly jitter: boolean
}): Schedule.Schedule<unknown, unknown> => {
  const exponential = Schedule.exponential(options.base, options.factor)
  const jittered = options.jitter ? Schedule.jittered(exponential) : exponential
  return Schedule.modifyDelay(jittered, ({ duration }) => Effect.succeed(Duration.min(duration, options.maxDelay)))
}

/**
 * The middleware for a policy. A try that fails with an error the policy
 * accepts is re-run after the schedule's delay with `attempt + 1` on its
 * envelope; `DeadLettered` (a dead-letter plugin placed inside) is never
 * retried.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { Retry } from "@eventfabric/plugins"
 * const m = Retry.middleware({ times: 2, schedule: Schedule.spaced("10 millis"), shouldRetry: () => true })
 * ```
 * @since 0.1.0
 */
export const middleware =
  (policy: Policy): Middleware.DeliveryMiddleware =>
  (next) =>
  (delivery) =>
    // The first try runs bare: a delivery that succeeds pays one error
    // handler, no schedule, no copy of its envelope.
    Effect.catch(next(delivery), (error) =>
      Effect.clockWith((clock) => {
        const firstFailureAt = clock.currentTimeMillisUnsafe()
        let attempt = delivery.envelope.attempt
        const giveUp = (last: Delivery.DeliveryError | Delivery.DeadLettered) => {
          noteAttempts(last, { attempts: attempt, firstFailureAt })
          return Effect.fail(last)
        }
        if (policy.times === 0 || !policy.shouldRetry(error)) return giveUp(error)
        // [schedule] A transported event is handed back to its engine, redelivered after the delay (RetryLater.ts).
        const redelivered = error._tag === "DeadLettered" ? undefined : RetryLater.deliveries(delivery.envelope)
        if (redelivered !== undefined) {
          return Effect.flatMap(
            RetryLater.later(policy, delivery, error as Delivery.DeliveryError, redelivered),
            (d) => (d === undefined ? giveUp(error) : Effect.fail(d))
          )
        }
        // After a retryable failure, `Effect.retry` starts from that failure
        // (replayed once, not re-run), so delays and counts are the schedule's.
        let replay = true
        const again = Effect.suspend(() => {
          if (replay) {
            replay = false
            return Effect.fail(error)
          }
          attempt++
          return next({ ...delivery, envelope: { ...delivery.envelope, attempt } })
        })
        return Effect.catch(
          Effect.retry(again, { schedule: policy.schedule, times: policy.times, while: policy.shouldRetry }),
          giveUp
        )
      })
    )

/**
 * Resolves decoded options (and the extra predicate) into a policy.
 *
 * @example
 * ```ts
 * import { Retry } from "@eventfabric/plugins"
 * const policy = Retry.policy({ times: 1, jitter: false })
 * ```
 * @since 0.1.0
 */
export const policy = (options: typeof Options.Type, extra?: Extra): Policy => {
  const retryOn = new Set<string>(options.retryOn ?? ["HandlerError", "HandlerTimeout"])
  const predicate = extra?.while
  return {
    times: options.times ?? 3,
    schedule: schedule({
      base: options.base ?? Duration.millis(100),
      factor: options.factor ?? 2,
      maxDelay: options.maxDelay ?? Duration.seconds(10),
      jitter: options.jitter ?? true
    }),
    shouldRetry: (error) =>
      error._tag !== "DeadLettered" && retryOn.has(error._tag) && (predicate === undefined || predicate(error))
  }
}

/**
 * The Retry plugin. Its options are decoded when `Plugin.layer` builds; a bad
 * value fails the layer with `InvalidOptions` naming the path.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Retry } from "@eventfabric/plugins"
 *
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(Retry.plugin({ times: 3, base: "100 millis", maxDelay: "5 seconds" })))
 * )
 * ```
 * @category plugins
 * @since 0.1.0
 */
export const plugin = (options?: Options, extra?: Extra): Plugin.Plugin<Errors.InvalidOptions> =>
  Plugin.configured("Retry", Options, (decoded) => ({ delivery: middleware(policy(decoded, extra)) }))(options)
