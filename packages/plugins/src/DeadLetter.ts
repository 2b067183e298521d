/**
 * DeadLetter: the plugin that stores a delivery that failed for good in the
 * `DeadLetterQueue` (with why and since when), from where it can be
 * inspected, re-delivered to its subscription, or purged.
 *
 * Place it outermost of the delivery plugins (first in `Plugin.layer(...)`
 * among Retry and CircuitBreaker): it then sees the failure that remains after
 * retries, and the rejections of an open circuit (reason `CircuitOpen`).
 *
 * Mailbox overflows (`Overflow`) are refused by the core before any delivery
 * middleware runs; the core hands them to the plugin's `undelivered` hook,
 * which stores them the same way.
 *
 * Cost: a delivery that succeeds pays one error handler; the rest runs only
 * on failure. An inner Retry tells it the attempts and the first failure's
 * time through the error it gives up with.
 *
 * @since 0.1.0
 */
import type { Middleware } from "@eventfabric/core"
import { Delivery, Plugin } from "@eventfabric/core"
import { Effect, Schema } from "effect"
import { DeadLetterQueue } from "./DeadLetterQueue.ts"
import { Reason } from "./DeadLetterStore.ts"
import { attemptsOf } from "./internal/attempts.ts"
import * as RetryLater from "./RetryLater.ts"

/**
 * The plugin's options: `reasons` to store (default all four delivery error
 * tags). A failure with another reason passes through unstored.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { DeadLetter } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(DeadLetter.Options)({ reasons: ["HandlerError", "HandlerTimeout"] })
 * ```
 * @category options
 * @since 0.2.0
 */
export const Options = Schema.Struct({
  reasons: Schema.optional(Schema.Array(Reason))
})

/**
 * @category options
 * @since 0.2.0
 */
export type Options = typeof Options.Encoded

/**
 * The hook the core would call for deliveries refused before the middleware
 * chain (mailbox overflow); answers the entry id when it stored one.
 *
 * @since 0.1.0
 */
export type Undelivered = (
  delivery: Delivery.Delivery,
  error: Delivery.DeliveryError
) => Effect.Effect<string | undefined>

/**
 * The hooks the plugin installs: the delivery middleware, and `undelivered`
 * for the core to call on overflows.
 *
 * @since 0.1.0
 */
export interface DeadLetterHooks extends Plugin.Hooks {
  readonly delivery: Middleware.DeliveryMiddleware
  readonly undelivered: Undelivered
}

/**
 * Builds the middleware and the overflow hook over a queue.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DeadLetter, DeadLetterQueue } from "@eventfabric/plugins"
 * const hooks = Effect.map(DeadLetterQueue.DeadLetterQueue, (dlq) => DeadLetter.hooks(dlq))
 * ```
 * @since 0.1.0
 */
export const hooks = (
  dlq: DeadLetterQueue["Service"],
  reasons: ReadonlySet<string> = new Set(["HandlerError", "HandlerTimeout", "CircuitOpen", "Overflow"])
): DeadLetterHooks => {
  const store = (
    delivery: Delivery.Delivery,
    error: Delivery.DeliveryError,
    options?: { readonly attempts?: number | undefined; readonly firstFailureAt?: number | undefined }
  ): Effect.Effect<string | undefined> =>
    reasons.has(error._tag)
      ? dlq.record(delivery, error, options).pipe(
          Effect.map((entry): string | undefined => entry.id),
          // A store that fails must not turn a delivery failure into something
          // else: the failure is still counted and reported by the core.
          Effect.catch((storeError) =>
            Effect.as(Effect.logWarning("dead-letter store failed", storeError), undefined as string | undefined)
          )
        )
      : Effect.succeed(undefined)
  const delivery: Middleware.DeliveryMiddleware = (next) => (d) =>
    Effect.catch(next(d), (error) =>
      // [schedule] a deferral (RetryLater) is not a failure for good: the transport redelivers it
      error._tag === "DeadLettered" || RetryLater.isDeferral(error)
        ? Effect.fail(error)
        : Effect.flatMap(store(d, error, attemptsOf(error)), (id) =>
            Effect.fail(id === undefined ? error : new Delivery.DeadLettered({ error, entryId: id }))
          )
    )
  return { delivery, undelivered: store }
}

/**
 * The DeadLetter plugin. Needs a `DeadLetterQueue` (e.g.
 * `DeadLetterQueue.layerMemory()`); provide the same layer to your program to
 * inspect and retry entries. It needs the bus handle: `retry` re-delivers
 * through it.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { DeadLetter, DeadLetterQueue, Retry } from "@eventfabric/plugins"
 *
 * const Dlq = DeadLetterQueue.layerMemory({ capacity: 10_000 })
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(DeadLetter.plugin(), Retry.plugin({ times: 3 }))),
 *   Layer.provideMerge(Dlq)
 * )
 * ```
 * @category plugins
 * @since 0.1.0
 */
export const plugin = Plugin.configured("DeadLetter", Options, (decoded) =>
  Effect.gen(function* () {
    const dlq = yield* DeadLetterQueue
    const installed = hooks(
      dlq,
      new Set(decoded.reasons ?? ["HandlerError", "HandlerTimeout", "CircuitOpen", "Overflow"])
    )
    return (bus: Plugin.BusHandle) => Effect.as(dlq.attach(bus), installed as Plugin.Hooks)
  })
)
