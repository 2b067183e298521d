/**
 * Accounting: where every delivery's end is counted, failures handed to the
 * reports, trackers told; and the `stats` snapshot.
 */
import type { Outcome } from "../Delivery.ts"
import type { LaneStats, Stats, SubscriptionStats } from "../Stats.ts"
import type { Reports } from "./reports.ts"
import type { BusState } from "./state.ts"
import type { Host, SubscriptionRuntime } from "./subscription.ts"

const settledKeys = [
  "total",
  "succeeded",
  "failed",
  "timedOut",
  "rejected",
  "overflowed",
  "interrupted",
  "deadLettered",
  "abandoned"
] as const

/**
 * The host subscriptions report to. The outcome and the error are built only
 * when someone reads them (a `publishAndWait` tracker, or the first failure of
 * a report), so a plain delivery, or one of a storm of failures, allocates
 * nothing.
 */
export const host = (
  state: BusState,
  reports: Reports,
  dispatcher: {
    readonly roomFreed: (sub: SubscriptionRuntime) => void
    readonly kick: (sub: SubscriptionRuntime) => void
  }
): Host => ({
  permits: state.permits,
  roomFreed: dispatcher.roomFreed,
  kick: dispatcher.kick,
  settled(sub, job, status, lazy, deadLettered, report) {
    state.settled++
    const failure = status === "failed" || status === "timedOut" || status === "rejected" || status === "overflowed"
    if (job.system) {
      state.systemSettled++
      if (failure) state.systemFailures++
    } else {
      state.userSettled++
      if (failure) state.userFailures++
    }
    if (lazy !== undefined && (job.tracker !== undefined || (report && sub.report === undefined))) {
      const error = typeof lazy === "function" ? lazy() : lazy
      // Failures of system events are counted but not re-published: a failing
      // `system.handler_error` subscriber must not feed itself. Reported
      // before the tracker resolves: its waiter may resume inline and drain or
      // close the bus, which must already count the report.
      if (report && !job.system) reports.add(sub, job.envelope, error)
      if (job.tracker !== undefined) {
        const outcome: Outcome = { subscription: sub.info.name, status, error, deadLettered }
        job.tracker.settle(outcome)
      }
    } else {
      if (report && lazy !== undefined && !job.system) sub.report!.count++
      job.tracker?.settle({ subscription: sub.info.name, status, error: undefined, deadLettered })
    }
    state.idle.check()
  }
})

/** Adds an ended subscription's counters to the bus's. */
export const retire = (state: BusState, sub: SubscriptionRuntime): void => {
  const fold = () => {
    state.ending.delete(sub)
    const s = sub.stats()
    for (const key of settledKeys) state.retired[key] += s[key]
  }
  // A delivery still running (its own handler unsubscribed) is counted when it ends.
  if (sub.quietNow()) return fold()
  state.ending.add(sub)
  sub.whenQuiet(fold)
}

export const stats = (state: BusState): Stats => {
  const deliveries = { ...state.retired }
  const subs: Array<SubscriptionStats> = []
  const add = (s: SubscriptionStats) => {
    for (const key of settledKeys) deliveries[key] += s[key]
    deliveries.queued += s.queued
    deliveries.inFlight += s.inFlight
  }
  for (const sub of state.subscriptions.values()) {
    const s = sub.stats()
    subs.push(s)
    add(s)
  }
  for (const sub of state.ending) add(sub.stats())
  const [critical, normal, low] = state.lanes.map((l) => l.stats()) as [LaneStats, LaneStats, LaneStats]
  const sum = (key: "accepted" | "dropped" | "evicted" | "dispatched" | "discarded" | "queued") =>
    critical[key] + normal[key] + low[key]
  return {
    published: state.published,
    system: { published: state.systemPublished, deliveries: state.systemSettled, failures: state.systemFailures },
    failureRate: state.userSettled === 0 ? 0 : state.userFailures / state.userSettled,
    waiting: state.waiting,
    rejected: state.rejected,
    deduplicated: state.deduplicated,
    dropped: sum("dropped"),
    accepted: sum("accepted"),
    evicted: sum("evicted"),
    dispatched: sum("dispatched"),
    unrouted: state.unrouted,
    discarded: sum("discarded"),
    refused: state.refused,
    cancelled: state.cancelled,
    queued: sum("queued"),
    lanes: { critical, normal, low },
    deliveries,
    subscriptions: subs,
    maxConcurrentHandlers: state.permits.max,
    closed: state.phase !== "open"
  }
}
