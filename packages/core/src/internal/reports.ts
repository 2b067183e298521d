/**
 * Failure reports (`system.handler_error`), coalesced: a storm is reported
 * once per subscription per interval, carrying the count and the first
 * failure. A subscription's report is owed from its first failure until the
 * dispatcher flushes it: when it runs out of work, or at the end of a batch
 * once the interval has passed. Until then it counts as pending, so `drain`
 * waits for it. A subscription overflowing thousands of times a second thus
 * costs a counter increment per failure, not an error, an envelope and a
 * dispatch each (which made healthy subscriptions run at 0.39x).
 */
import type { DeliveryError } from "../Delivery.ts"
import type { Envelope } from "../Envelope.ts"
import type { BusState } from "./state.ts"
import type { SubscriptionRuntime } from "./subscription.ts"

/** The longest a storm's report waits while the dispatcher stays busy. */
const INTERVAL_MS = 1000

export interface Report {
  readonly subscription: string
  readonly eventId: string
  readonly eventType: string
  readonly reason: string
  readonly attempt: number
  readonly cause: string
  readonly count: number
}

const render = (error: DeliveryError): string => {
  try {
    return error.message
  } catch {
    return `${error._tag} (cause could not be rendered)`
  }
}

export class Reports {
  private readonly state: BusState
  private pending: Array<SubscriptionRuntime> = []
  private last = 0

  constructor(state: BusState) {
    this.state = state
  }

  add(sub: SubscriptionRuntime, envelope: Envelope, error: DeliveryError): void {
    if (sub.report !== undefined) {
      sub.report.count++
      return
    }
    sub.report = { count: 1, envelope, error }
    this.pending.push(sub)
    this.state.systemPending++
    if (!this.state.wake.isOpen()) this.state.wake.openUnsafe()
  }

  get owed(): boolean {
    return this.pending.length > 0
  }

  /** Flushes when the interval has passed since the last flush. */
  flushDue(emit: (report: Report, envelope: Envelope) => void): void {
    if (this.pending.length === 0) return
    if (this.state.clock.currentTimeMillisUnsafe() - this.last < INTERVAL_MS) return
    this.flush(emit)
  }

  flush(emit: (report: Report, envelope: Envelope) => void): void {
    if (this.pending.length === 0) return
    this.last = this.state.clock.currentTimeMillisUnsafe()
    const subs = this.pending
    this.pending = []
    for (const sub of subs) {
      const owed = sub.report!
      sub.report = undefined
      const envelope = owed.envelope
      // `emit` takes over the pending count.
      emit(
        {
          subscription: sub.info.name,
          eventId: envelope.id,
          eventType: envelope.type,
          reason: owed.error._tag,
          attempt: envelope.attempt,
          cause: render(owed.error),
          count: owed.count
        },
        envelope
      )
    }
  }

  /** At shutdown: what is still owed is dropped (its failures are counted). */
  discard(): void {
    for (const sub of this.pending) sub.report = undefined
    this.state.systemPending -= this.pending.length
    this.pending = []
  }
}
