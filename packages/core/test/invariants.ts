import { expect } from "@effect/vitest"
import type { Stats } from "../src/index.ts"

/**
 * The sums of guarantee 5 (user and system publishes together on the
 * admission side); `atRest` adds: nothing queued, nothing in flight.
 */
export const expectBalanced = (s: Stats.Stats, atRest = true) => {
  expect(s.published + s.system.published).toBe(s.rejected + s.deduplicated + s.dropped + s.accepted)
  expect(s.accepted).toBe(s.dispatched + s.evicted + s.discarded + s.queued)
  const d = s.deliveries
  expect(d.total).toBe(
    d.succeeded + d.failed + d.timedOut + d.rejected + d.overflowed + d.interrupted + d.queued + d.inFlight
  )
  for (const sub of s.subscriptions) {
    expect(sub.total).toBe(
      sub.succeeded +
        sub.failed +
        sub.timedOut +
        sub.rejected +
        sub.overflowed +
        sub.interrupted +
        sub.queued +
        sub.inFlight
    )
  }
  for (const lane of Object.values(s.lanes)) {
    expect(lane.accepted).toBe(lane.dispatched + lane.evicted + lane.discarded + lane.queued)
  }
  expect(d.abandoned).toBeLessThanOrEqual(d.interrupted)
  if (atRest) {
    // every publishAndWait answered
    expect(s.waiting).toBe(0)
    expect(s.queued).toBe(0)
    expect(d.queued).toBe(0)
    expect(d.inFlight).toBe(0)
  }
}
