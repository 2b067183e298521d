/**
 * What the page shows, one sample per interval: the bus's counters as the
 * page reads them (rates since the previous sample, fills), derived from two
 * consecutive `bus.stats` snapshots. Pure: the sampler in `Inspector.ts`
 * supplies the snapshots, handle times, circuits and the DLQ's counters.
 *
 * Subscription rows read the bus's own fields: `selector`, `keyed`,
 * `concurrency` and `inFlight` (workers busy), `mailbox` (capacity per lane),
 * `mailboxes` (per lane: queued and strategy) and `blocked`.
 *
 * @since 0.1.0
 */
import type { Stats } from "@eventfabric/core"
import type { Percentiles } from "./HandleTime.ts"

/**
 * One lane.
 *
 * @since 0.1.0
 */
export interface LaneSample {
  readonly name: string
  readonly capacity: number
  readonly strategy: string
  readonly queued: number
  /** `queued / capacity`, in [0, 1]. */
  readonly fill: number
  readonly accepted: number
  readonly dispatched: number
  readonly dropped: number
  readonly evicted: number
  /** Per second, since the previous sample. */
  readonly rates: {
    readonly accepted: number
    readonly dispatched: number
    readonly dropped: number
    readonly evicted: number
  }
}

/**
 * A subscription's circuit as the `system.circuit_*` events told it.
 *
 * @since 0.1.0
 */
export interface CircuitSample {
  readonly state: "closed" | "open" | "half-open"
  /** Epoch milliseconds of the last change. */
  readonly since: number
}

/**
 * One subscription.
 *
 * @since 0.1.0
 */
export interface SubscriptionSample {
  readonly name: string
  /** An event type, types joined by `|`, or a pattern. */
  readonly selector: string
  readonly concurrency: number
  /** Deliveries running now (workers busy). */
  readonly busy: number
  readonly mailbox: MailboxSample
  /** Ordered per `orderBy` key. */
  readonly keyed: boolean
  readonly circuit: CircuitSample | undefined
  readonly succeeded: number
  readonly failed: number
  readonly timedOut: number
  readonly rejected: number
  readonly overflowed: number
  readonly deadLettered: number
  readonly rates: { readonly succeeded: number; readonly failed: number }
  readonly handleTime: Percentiles | undefined
}

/**
 * A subscription's mailbox: one bounded ring per lane, each `capacity` long.
 *
 * @since 0.1.0
 */
export interface MailboxSample {
  /** Per lane. */
  readonly capacity: number
  /** Everything waiting, held deliveries included. */
  readonly queued: number
  /** The fullest lane's ring: its queued / capacity, in [0, 1]. */
  readonly fill: number
  /** The fullest lane's queued count (what the bar shows against `capacity`). */
  readonly fullest: number
  /** The strategy most lanes share, then those that differ: `suspend (low: sliding)`. */
  readonly strategy: string
  readonly lanes: ReadonlyArray<{
    readonly name: string
    readonly queued: number
    readonly fill: number
    readonly strategy: string
  }>
  /** Deliveries the dispatcher holds for a full `suspend` ring (counted in `queued`). */
  readonly blocked: number
}

/**
 * The dead-letter queue's counters.
 *
 * @since 0.1.0
 */
export interface DlqSample {
  readonly size: number
  readonly capacity: number
  readonly evicted: number
  readonly recorded: number
  readonly retried: number
  readonly recovered: number
}

/**
 * A transport's counters, shown as they come.
 *
 * @since 0.1.0
 */
export interface TransportSample {
  readonly name: string
  readonly fields: Readonly<Record<string, string | number | boolean>>
}

/**
 * One chart point: rates per second.
 *
 * @since 0.1.0
 */
export interface Point {
  readonly at: number
  readonly published: number
  readonly dispatched: number
  readonly succeeded: number
  readonly failed: number
  readonly timedOut: number
  /** Deliveries refused by an open circuit or a full mailbox. */
  readonly refused: number
  readonly dropped: number
  readonly deadLettered: number
}

/**
 * Everything the page shows for one instant.
 *
 * @since 0.1.0
 */
export interface Sample {
  /** Epoch milliseconds. */
  readonly at: number
  readonly seq: number
  readonly closed: boolean
  readonly totals: {
    readonly published: number
    readonly accepted: number
    readonly dispatched: number
    readonly dropped: number
    readonly evicted: number
    readonly unrouted: number
    readonly queued: number
    readonly inFlight: number
    readonly succeeded: number
    readonly failed: number
    readonly timedOut: number
    readonly deadLettered: number
    /** `system.*` events published (counted apart from `published`). */
    readonly systemPublished: number
  }
  readonly point: Point
  readonly lanes: ReadonlyArray<LaneSample>
  readonly subscriptions: ReadonlyArray<SubscriptionSample>
  readonly dlq: DlqSample | undefined
  readonly transports: ReadonlyArray<TransportSample>
  readonly maxConcurrentHandlers: number
}

/**
 * What the sampler adds to two snapshots.
 *
 * @since 0.1.0
 */
export interface Extras {
  readonly seq: number
  readonly handleTimes: ReadonlyMap<string, Percentiles>
  readonly circuits: ReadonlyMap<string, CircuitSample>
  readonly dlq: DlqSample | undefined
  readonly transports: ReadonlyArray<TransportSample>
  /** Subscriptions not to show (the inspector's own). */
  readonly hidden: ReadonlySet<string>
}

const rate = (now: number, before: number | undefined, seconds: number): number =>
  before === undefined || seconds <= 0 ? 0 : Math.max(0, (now - before) / seconds)

const fill = (queued: number, capacity: number): number => (capacity > 0 ? Math.min(1, queued / capacity) : 0)

const laneNames = ["critical", "normal", "low"] as const

const mailboxOf = (s: Stats.SubscriptionStats): MailboxSample => {
  const lanes = laneNames.map((name) => {
    const m = s.mailboxes[name]
    return { name, queued: m.queued, fill: fill(m.queued, s.mailbox), strategy: m.strategy }
  })
  const fullest = lanes.reduce((a, b) => (b.queued > a.queued ? b : a))
  // The strategy most lanes share, then the lanes that differ: "suspend (low: sliding)".
  const count = (strategy: string) => lanes.filter((l) => l.strategy === strategy).length
  const common = lanes.map((l) => l.strategy).reduce((a, b) => (count(b) > count(a) ? b : a))
  const others = lanes.filter((l) => l.strategy !== common).map((l) => `${l.name}: ${l.strategy}`)
  return {
    capacity: s.mailbox,
    queued: s.queued,
    fill: fullest.fill,
    fullest: fullest.queued,
    strategy: others.length === 0 ? common : `${common} (${others.join(", ")})`,
    lanes,
    blocked: s.blocked
  }
}

/**
 * Derives a sample from the current snapshot and the previous one (`undefined`
 * at the first sample: rates are then 0).
 *
 * @example
 * ```ts
 * import type { Stats } from "@eventfabric/core"
 * import { Sample } from "@eventfabric/inspector"
 * declare const before: Stats.Stats
 * declare const now: Stats.Stats
 * const sample = Sample.derive(now, 2_000, { stats: before, at: 1_000 }, {
 *   seq: 1, handleTimes: new Map(), circuits: new Map(), dlq: undefined, transports: [], hidden: new Set()
 * })
 * sample.point.published // events published per second between the two
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const derive = (
  stats: Stats.Stats,
  at: number,
  previous: { readonly stats: Stats.Stats; readonly at: number } | undefined,
  extras: Extras
): Sample => {
  const seconds = previous === undefined ? 0 : (at - previous.at) / 1000
  const before = previous?.stats
  const lanes = (Object.keys(stats.lanes) as Array<keyof Stats.Stats["lanes"]>).map((name): LaneSample => {
    const lane = stats.lanes[name]
    const was = before?.lanes[name]
    return {
      name,
      capacity: lane.capacity,
      strategy: lane.strategy,
      queued: lane.queued,
      fill: fill(lane.queued, lane.capacity),
      accepted: lane.accepted,
      dispatched: lane.dispatched,
      dropped: lane.dropped,
      evicted: lane.evicted,
      rates: {
        accepted: rate(lane.accepted, was?.accepted, seconds),
        dispatched: rate(lane.dispatched, was?.dispatched, seconds),
        dropped: rate(lane.dropped, was?.dropped, seconds),
        evicted: rate(lane.evicted, was?.evicted, seconds)
      }
    }
  })
  const previousSubs = new Map((before?.subscriptions ?? []).map((s) => [s.name, s]))
  const subscriptions = stats.subscriptions
    .filter((s) => !extras.hidden.has(s.name))
    .map((s): SubscriptionSample => {
      const was = previousSubs.get(s.name)
      return {
        name: s.name,
        selector: s.selector,
        concurrency: s.concurrency,
        busy: s.inFlight,
        mailbox: mailboxOf(s),
        keyed: s.keyed,
        circuit: extras.circuits.get(s.name),
        succeeded: s.succeeded,
        failed: s.failed,
        timedOut: s.timedOut,
        rejected: s.rejected,
        overflowed: s.overflowed,
        deadLettered: s.deadLettered,
        rates: {
          succeeded: rate(s.succeeded, was?.succeeded, seconds),
          failed: rate(
            s.failed + s.timedOut + s.rejected + s.overflowed,
            was === undefined ? undefined : was.failed + was.timedOut + was.rejected + was.overflowed,
            seconds
          )
        },
        handleTime: extras.handleTimes.get(s.name)
      }
    })
  const d = stats.deliveries
  return {
    at,
    seq: extras.seq,
    closed: stats.closed,
    totals: {
      published: stats.published,
      accepted: stats.accepted,
      dispatched: stats.dispatched,
      dropped: stats.dropped,
      evicted: stats.evicted,
      unrouted: stats.unrouted,
      queued: stats.queued,
      inFlight: d.inFlight,
      succeeded: d.succeeded,
      failed: d.failed,
      timedOut: d.timedOut,
      deadLettered: d.deadLettered,
      systemPublished: stats.system.published
    },
    point: {
      at,
      published: rate(stats.published, before?.published, seconds),
      dispatched: rate(stats.dispatched, before?.dispatched, seconds),
      succeeded: rate(d.succeeded, before?.deliveries.succeeded, seconds),
      failed: rate(d.failed, before?.deliveries.failed, seconds),
      timedOut: rate(d.timedOut, before?.deliveries.timedOut, seconds),
      refused: rate(
        d.rejected + d.overflowed,
        before === undefined ? undefined : before.deliveries.rejected + before.deliveries.overflowed,
        seconds
      ),
      dropped: rate(
        stats.dropped + stats.evicted,
        before === undefined ? undefined : before.dropped + before.evicted,
        seconds
      ),
      deadLettered: rate(d.deadLettered, before?.deliveries.deadLettered, seconds)
    },
    lanes,
    subscriptions,
    dlq: extras.dlq,
    transports: extras.transports,
    maxConcurrentHandlers: stats.maxConcurrentHandlers
  }
}
