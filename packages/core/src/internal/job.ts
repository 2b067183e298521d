/**
 * A job is one accepted envelope on its way through a lane to its
 * subscriptions. Subscriptions share the job, so a delivery allocates nothing;
 * `publishAndWait` hangs a tracker on it to collect the outcomes.
 */
import { Deferred, Effect } from "effect"
import type { Outcome } from "../Delivery.ts"
import type { Envelope } from "../Envelope.ts"

/**
 * How a published event ended, as `publishAndWait` reports it.
 *
 * - `delivered`: dispatched, and every delivery reached a terminal state
 *   (none, when nothing subscribed).
 * - `dropped` / `deduplicated`: refused at admission.
 * - `evicted`: pushed out of a full `sliding` lane before dispatch.
 * - `interrupted`: still queued when shutdown's grace ran out.
 */
export interface Result {
  readonly id: string
  readonly type: string
  readonly status: "delivered" | "dropped" | "deduplicated" | "evicted" | "interrupted"
  readonly deliveries: ReadonlyArray<Outcome>
  readonly succeeded: number
  readonly failed: number
}

export class Tracker {
  private remaining = 0
  private ended = false
  private readonly outcomes: Array<Outcome> = []
  readonly deferred = Deferred.makeUnsafe<Result>()
  readonly envelope: Envelope
  /** Told once, when the waiter is answered (the bus counts waiters left pending). */
  private readonly onEnd: (() => void) | undefined

  constructor(envelope: Envelope, onEnd?: () => void) {
    this.envelope = envelope
    this.onEnd = onEnd
  }

  expect(deliveries: number): void {
    this.remaining = deliveries
    if (deliveries === 0) this.end("delivered")
  }

  settle(outcome: Outcome): void {
    this.outcomes.push(outcome)
    if (--this.remaining === 0) this.end("delivered")
  }

  /** The event never got in (a typed refusal, an interrupt): no one waits any more. */
  cancel(): void {
    if (this.ended) return
    this.ended = true
    this.onEnd?.()
  }

  end(status: Result["status"]): void {
    if (this.ended) return
    this.ended = true
    this.onEnd?.()
    let succeeded = 0
    for (const o of this.outcomes) if (o.status === "succeeded") succeeded++
    Deferred.doneUnsafe(
      this.deferred,
      Effect.succeed({
        id: this.envelope.id,
        type: this.envelope.type,
        status,
        deliveries: this.outcomes,
        succeeded,
        failed: this.outcomes.length - succeeded
      })
    )
  }
}

export class Job {
  readonly envelope: Envelope
  readonly tracker: Tracker | undefined

  constructor(envelope: Envelope, tracker: Tracker | undefined) {
    this.envelope = envelope
    this.tracker = tracker
  }
}
