/**
 * Deliveries: one envelope to one subscription, and how they end.
 *
 * @since 0.1.0
 */
import { Cause, Data, type Duration } from "effect"
import type { Envelope } from "./Envelope.ts"

/**
 * What a delivery middleware sees of the subscription it delivers to.
 *
 * @since 0.1.0
 */
export interface SubscriptionInfo {
  readonly name: string
  readonly concurrency: number
  readonly timeout: Duration.Duration
  readonly mailbox: number
}

/**
 * One envelope on its way to one subscription.
 *
 * @since 0.1.0
 */
export interface Delivery {
  readonly envelope: Envelope
  readonly subscription: SubscriptionInfo
}

/**
 * The handler failed or died. `cause` is the handler's full Cause.
 *
 * @example
 * ```ts
 * import { Cause } from "effect"
 * import { Delivery } from "@eventfabric/core"
 * new Delivery.HandlerError({ subscription: "mailer", cause: Cause.fail("smtp down") }).message
 * ```
 * @since 0.1.0
 */
export class HandlerError extends Data.TaggedError("HandlerError")<{
  readonly subscription: string
  readonly cause: Cause.Cause<unknown>
}> {
  override get message() {
    return Cause.pretty(this.cause)
  }
}

/**
 * The handler ran past the subscription's timeout and was interrupted.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { Delivery } from "@eventfabric/core"
 * new Delivery.HandlerTimeout({ subscription: "mailer", timeout: Duration.seconds(30) })
 * ```
 * @since 0.1.0
 */
export class HandlerTimeout extends Data.TaggedError("HandlerTimeout")<{
  readonly subscription: string
  readonly timeout: Duration.Duration
}> {
  override get message() {
    return `handler of ${this.subscription} timed out`
  }
}

/**
 * The subscription's circuit is open: the handler was not called.
 *
 * @example
 * ```ts
 * import { Delivery } from "@eventfabric/core"
 * new Delivery.CircuitOpen({ subscription: "mailer" })
 * ```
 * @since 0.1.0
 */
export class CircuitOpen extends Data.TaggedError("CircuitOpen")<{
  readonly subscription: string
}> {
  override get message() {
    return `circuit of ${this.subscription} is open`
  }
}

/**
 * The subscription's mailbox was full: the handler is too slow for its load.
 *
 * @example
 * ```ts
 * import { Delivery } from "@eventfabric/core"
 * new Delivery.Overflow({ subscription: "mailer", capacity: 1024 })
 * ```
 * @since 0.1.0
 */
export class Overflow extends Data.TaggedError("Overflow")<{
  readonly subscription: string
  readonly capacity: number
}> {
  override get message() {
    return `mailbox of ${this.subscription} is full (capacity ${this.capacity})`
  }
}

/**
 * Everything a delivery can fail with. The tag doubles as the dead-letter
 * reason.
 *
 * @since 0.1.0
 */
export type DeliveryError = HandlerError | HandlerTimeout | CircuitOpen | Overflow

/**
 * How a delivery ended.
 *
 * @since 0.1.0
 */
export type Status = "succeeded" | "failed" | "timedOut" | "rejected" | "overflowed" | "interrupted"

/**
 * The end of one delivery, as `publishAndWait` reports it.
 *
 * @since 0.1.0
 */
export interface Outcome {
  readonly subscription: string
  readonly status: Status
  readonly error?: DeliveryError | undefined
  /** True when a dead-letter plugin stored the failed delivery. */
  readonly deadLettered: boolean
}

/**
 * Marks a delivery error as stored in a dead-letter queue. A dead-letter
 * middleware fails with it so the bus counts the delivery as both failed
 * (by the inner error) and dead-lettered.
 *
 * @example
 * ```ts
 * import { Cause } from "effect"
 * import { Delivery } from "@eventfabric/core"
 * const inner = new Delivery.HandlerError({ subscription: "mailer", cause: Cause.fail("x") })
 * new Delivery.DeadLettered({ error: inner, entryId: "e-1" })
 * ```
 * @since 0.1.0
 */
export class DeadLettered extends Data.TaggedError("DeadLettered")<{
  readonly error: DeliveryError
  readonly entryId: string
}> {
  override get message() {
    return `dead-lettered as ${this.entryId}: ${this.error.message}`
  }
}
