/**
 * The bus's accounting. Every publish ends in exactly one counted state, and
 * at rest (after `drain`) the sums add up:
 *
 * - `published + system.published = rejected + deduplicated + dropped + accepted`
 * - `accepted = dispatched + evicted + discarded + queued`
 * - `deliveries.total = succeeded + failed + timedOut + rejected + overflowed + interrupted + queued + inFlight`
 *
 * @since 0.1.0
 */
import type { Priority } from "./Event.ts"
import type { Strategy } from "./Options.ts"

/**
 * One lane's counters.
 *
 * @since 0.1.0
 */
export interface LaneStats {
  readonly capacity: number
  readonly strategy: Strategy
  /** Events waiting in the lane now. */
  readonly queued: number
  readonly accepted: number
  /** Refused because the lane was full (`dropping` and `fail` strategies). */
  readonly dropped: number
  /** Evicted from a full `sliding` lane by a newer event. */
  readonly evicted: number
  readonly dispatched: number
  /** Left in the lane when shutdown's grace ran out. */
  readonly discarded: number
}

/**
 * Delivery counters, for all subscriptions or one.
 *
 * @since 0.1.0
 */
export interface DeliveryStats {
  readonly total: number
  readonly succeeded: number
  readonly failed: number
  readonly timedOut: number
  /** Refused by an open circuit. */
  readonly rejected: number
  /** Refused because the subscription's mailbox was full. */
  readonly overflowed: number
  /** Cut short by shutdown or by the subscription's scope closing. */
  readonly interrupted: number
  /**
   * Of the interrupted, those whose handler would not stop (uninterruptible):
   * shutdown settled them and went on without waiting.
   */
  readonly abandoned: number
  /** Failed deliveries that a dead-letter plugin stored. */
  readonly deadLettered: number
  /** Waiting in mailboxes now. */
  readonly queued: number
  /** Running now. */
  readonly inFlight: number
}

/**
 * One subscription's counters.
 *
 * @since 0.1.0
 */
export interface SubscriptionStats extends DeliveryStats {
  readonly name: string
  readonly concurrency: number
  /** Mailbox capacity, per lane. */
  readonly mailbox: number
  /** Deliveries the dispatcher holds for this subscription's full `suspend` mailbox (counted in `queued`). */
  readonly blocked: number
  /** What the subscription was made with: an event type, types joined by `|`, or a pattern. */
  readonly selector: string
  /** Whether deliveries are ordered per `orderBy` key. */
  readonly keyed: boolean
  /** Per lane: deliveries in that lane's mailbox now (of `mailbox`), and what a full one does. */
  readonly mailboxes: { readonly [P in Priority]: { readonly queued: number; readonly strategy: Strategy } }
}

/**
 * The schedule of delayed publishes (`{ delay }` / `{ at }`). At any time
 * `scheduled.total = scheduled.released + scheduled.cancelled + scheduled.pending`. A released event then counts in
 * `published` like any other.
 *
 * @since 0.2.0
 */
export interface ScheduleStats {
  readonly capacity: number
  /** Held now, waiting for their time. */
  readonly pending: number
  /** Ever held. */
  readonly total: number
  /** Came due and were handed to admission. */
  readonly released: number
  /** Still held when the bus shut down. */
  readonly cancelled: number
  /** Refused because the schedule was full (`ScheduleFullError`). */
  readonly overflowed: number
}

/**
 * A snapshot of the bus's counters.
 *
 * @since 0.1.0
 */
export interface Stats {
  /** User events published (everything but `system.*`). */
  readonly published: number
  /**
   * The bus's own events (`system.*`: failure reports, circuit changes),
   * counted apart from the user's: `published` events and the `deliveries`
   * and `failures` of them. The admission sums hold over both:
   * `published + system.published = rejected + deduplicated + dropped + accepted`.
   */
  readonly system: { readonly published: number; readonly deliveries: number; readonly failures: number }
  /**
   * Of the user events' deliveries that ended, the fraction that failed,
   * timed out, were rejected or overflowed (0 when none ended).
   */
  readonly failureRate: number
  /** Publishes whose publisher was interrupted while it waited for lane room: never admitted. */
  readonly cancelled: number
  /** `publishAndWait` calls not answered yet (0 at rest). */
  readonly waiting: number
  readonly rejected: number
  readonly deduplicated: number
  readonly dropped: number
  readonly accepted: number
  readonly evicted: number
  readonly dispatched: number
  readonly unrouted: number
  readonly discarded: number
  /** Publishes refused because the bus was closed. */
  readonly refused: number
  readonly queued: number
  /** Delayed publishes held in the schedule and their ends. */
  readonly scheduled: ScheduleStats
  readonly lanes: { readonly [P in Priority]: LaneStats }
  readonly deliveries: DeliveryStats
  readonly subscriptions: ReadonlyArray<SubscriptionStats>
  readonly maxConcurrentHandlers: number
  readonly closed: boolean
}
