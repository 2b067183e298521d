/**
 * Middleware: a function from a handler to a handler, at the two points where
 * the bus does work — admission (publish) and delivery.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { DeadLettered, Delivery, DeliveryError } from "./Delivery.ts"
import type { Envelope } from "./Envelope.ts"
import type { PublishError } from "./Errors.ts"
import type { Definition, Priority } from "./Event.ts"

/**
 * What admission answers: the event was enqueued (`accepted`), refused by a
 * full `dropping` lane (`dropped`), suppressed as a repeat (`deduplicated`),
 * or held for later by a `{ delay }` / `{ at }` publish (`scheduled`; it runs
 * admission when it comes due).
 *
 * @since 0.1.0
 */
export interface Receipt {
  readonly id: string
  readonly type: string
  readonly lane: Priority
  readonly status: "accepted" | "dropped" | "deduplicated" | "scheduled"
}

/**
 * Admission of one envelope. The innermost one enqueues it on its lane.
 *
 * @since 0.1.0
 */
export type Publish = (envelope: Envelope, definition: Definition) => Effect.Effect<Receipt, PublishError>

/**
 * Wraps admission: validation, redaction, dedup, metrics, tracing.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Middleware } from "@eventfabric/core"
 *
 * const logPublishes: Middleware.PublishMiddleware = (next) => (envelope, definition) =>
 *   Effect.tap(next(envelope, definition), (receipt) => Effect.logDebug(receipt.status, envelope.type))
 * ```
 * @since 0.1.0
 */
export type PublishMiddleware = (next: Publish) => Publish

/**
 * One delivery. The innermost one runs the handler under its timeout.
 *
 * @since 0.1.0
 */
export type Deliver = (delivery: Delivery) => Effect.Effect<void, DeliveryError | DeadLettered>

/**
 * Wraps a delivery: retry, circuit breaker, dead-letter queue, metrics, tracing.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { Middleware } from "@eventfabric/core"
 *
 * const timed: Middleware.DeliveryMiddleware = (next) => (delivery) =>
 *   next(delivery).pipe(Effect.withSpan(`deliver ${delivery.envelope.type}`))
 * ```
 * @since 0.1.0
 */
export type DeliveryMiddleware = (next: Deliver) => Deliver

/**
 * Composes middlewares outermost first around an innermost handler.
 *
 * @example
 * ```ts
 * import { Middleware } from "@eventfabric/core"
 * declare const outer: Middleware.DeliveryMiddleware
 * declare const inner: Middleware.DeliveryMiddleware
 * declare const run: Middleware.Deliver
 * const chain = Middleware.compose([outer, inner], run) // outer(inner(run))
 * ```
 * @since 0.1.0
 */
export const compose = <H>(middlewares: ReadonlyArray<(next: H) => H>, innermost: H): H =>
  middlewares.reduceRight((next, middleware) => middleware(next), innermost)
