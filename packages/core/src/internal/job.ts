/**
 * A job is one accepted envelope on its way through a lane to its
 * subscriptions. Subscriptions share the job, so a delivery allocates nothing;
 * `publishAndWait` hangs a tracker on it to collect the outcomes.
 */
import { Deferred, Effect } from "effect"
import type { Outcome } from "../Delivery.ts"
import type { Envelope } from "../Envelope.ts"
import type { PublishResult } from "../EventBus.ts"

export class Tracker {
  private remaining = 0
  private ended = false
  private readonly outcomes: Array<Outcome> = []
  readonly deferred = Deferred.makeUnsafe<PublishResult>()
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

  end(status: PublishResult["status"]): void {
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

/** Lane index: 0 critical, 1 normal, 2 low. */
export type LaneIndex = 0 | 1 | 2

export const laneIndex = { critical: 0, normal: 1, low: 2 } as const

export class Job {
  readonly envelope: Envelope
  readonly tracker: Tracker | undefined
  readonly lane: LaneIndex
  /** A `system.*` event: decided once here, not once per delivery. */
  readonly system: boolean

  constructor(envelope: Envelope, tracker: Tracker | undefined) {
    this.envelope = envelope
    this.tracker = tracker
    this.lane = laneIndex[envelope.priority]
    this.system = envelope.type.startsWith("system.")
  }
}
