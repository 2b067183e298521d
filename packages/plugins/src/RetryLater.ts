/**
 * Retry for events that came from a transport: instead of sleeping in process
 * while the consumer holds the message, the `Retry` middleware fails the try
 * with a `RetryLaterError` carrying the schedule's next delay, and the
 * transport hands the message back to its engine to be redelivered after that
 * delay (a `nak(delay)` on NATS, an `XCLAIM … IDLE` on Redis). The next
 * delivery comes back with the next attempt number, so the schedule and its
 * `times` span deliveries; past them the failure is the one `Retry` gives up
 * with (stored by `DeadLetter`, or redelivered by the engine until its
 * `maxDeliveries`).
 *
 * A consumer marks the envelopes it delivers with {@link header} (the engine's
 * delivery count of the message); the transports read the verdict back
 * through `Transport.verdict`, which recognises `RetryLaterError` by its tag
 * and `delay` (the transport package does not depend on this one).
 *
 * Limits: every local subscriber of the message sees it again on
 * redelivery, as for any nack (handlers of transported events are expected
 * to be idempotent). The engine's `maxDeliveries` bounds the tries too: keep
 * it above `times + 1`, or the engine dead-letters the message as
 * `MaxDeliveries` first. On Redis a delay longer than `claimIdle` becomes
 * `claimIdle` (an entry idle that long is claimed anyway).
 *
 * @since 0.2.0
 */
import { Delivery, type Envelope } from "@eventfabric/core"
import { Cause, Clock, Data, Duration, Effect, Exit, Schedule } from "effect"

/**
 * The header a transport's consumer sets on each envelope it delivers
 * locally: how many times the engine delivered that message (1 the first
 * time). Its presence tells `Retry` the engine can redeliver it later.
 *
 * @since 0.2.0
 */
export const header = "eventfabric-deliveries"

/**
 * The delivery count of a transported envelope, or `undefined` for a local one.
 *
 * @example
 * ```ts
 * import { RetryLater } from "@eventfabric/plugins"
 * RetryLater.deliveries({ id: "1", type: "a.b", payload: {}, priority: "normal", publishedAt: 0, attempt: 1, headers: { [RetryLater.header]: "2" } })
 * // 2
 * ```
 * @since 0.2.0
 */
export const deliveries = (envelope: Envelope.Envelope): number | undefined => {
  const value = envelope.headers?.[header]
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined
}

/**
 * "Fail this delivery and redeliver it after `delay`": the cause inside the
 * `HandlerError` a deferred try fails with. `attempt` is the attempt number of
 * the next try; `error` the failure that asked for it.
 *
 * @example
 * ```ts
 * import { Cause, Duration } from "effect"
 * import { Delivery } from "@eventfabric/core"
 * import { RetryLater } from "@eventfabric/plugins"
 * const error = new Delivery.HandlerError({ subscription: "s", cause: Cause.fail("boom") })
 * new RetryLater.RetryLaterError({ delay: Duration.seconds(1), attempt: 2, error }).message
 * ```
 * @since 0.2.0
 */
export class RetryLaterError extends Data.TaggedError("RetryLaterError")<{
  readonly delay: Duration.Duration
  readonly attempt: number
  readonly error: Delivery.DeliveryError
}> {
  override get message() {
    return `retry ${this.attempt} after ${Duration.format(this.delay)}: ${this.error.message}`
  }
}

/**
 * True when a delivery error is a deferral (so a dead-letter plugin lets it
 * through rather than storing it).
 *
 * @since 0.2.0
 */
export const isDeferral = (error: Delivery.DeliveryError | Delivery.DeadLettered): boolean =>
  error._tag === "HandlerError" &&
  Cause.findErrorOption(error.cause).pipe((found) => found._tag === "Some" && found.value instanceof RetryLaterError)

/**
 * The delay before retry number `retry` (1 = the first retry) of `schedule`,
 * or `undefined` when `retry` is past `times` or the schedule ended.
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { RetryLater } from "@eventfabric/plugins"
 * const d = RetryLater.delay(Schedule.exponential("100 millis"), 3, 2) // 200 millis
 * ```
 * @since 0.2.0
 */
export const delay = (
  schedule: Schedule.Schedule<unknown, unknown>,
  times: number,
  retry: number
): Effect.Effect<Duration.Duration | undefined> =>
  retry > times
    ? Effect.succeed(undefined)
    : Effect.gen(function* () {
        const step = yield* Schedule.toStep(schedule)
        const now = yield* Clock.currentTimeMillis
        let last: Duration.Duration | undefined
        for (let i = 0; i < retry; i++) {
          const exit = yield* Effect.exit(step(now, undefined))
          if (Exit.isFailure(exit)) return undefined
          last = exit.value[1]
        }
        return last
      })

/**
 * What `Retry` fails a transported delivery with instead of sleeping: the
 * deferral (a `HandlerError` of the subscription whose cause is the
 * {@link RetryLaterError}) for delivery number `deliveries`, or `undefined`
 * when the policy's schedule is spent (then `Retry` gives up with `error`).
 *
 * @example
 * ```ts
 * import { Cause, Effect, Schedule } from "effect"
 * import { Delivery } from "@eventfabric/core"
 * import { RetryLater } from "@eventfabric/plugins"
 * declare const delivery: Delivery.Delivery
 * const error = new Delivery.HandlerError({ subscription: "s", cause: Cause.fail("boom") })
 * const later = RetryLater.later({ schedule: Schedule.spaced("1 second"), times: 3 }, delivery, error, 1)
 * ```
 * @since 0.2.0
 */
export const later = (
  policy: { readonly schedule: Schedule.Schedule<unknown, unknown>; readonly times: number },
  delivery: Delivery.Delivery,
  error: Delivery.DeliveryError,
  deliveries: number
): Effect.Effect<Delivery.HandlerError | undefined> =>
  Effect.map(delay(policy.schedule, policy.times, deliveries), (d) =>
    d === undefined
      ? undefined
      : new Delivery.HandlerError({
          subscription: delivery.subscription.name,
          cause: Cause.fail(new RetryLaterError({ delay: d, attempt: delivery.envelope.attempt + 1, error }))
        })
  )
