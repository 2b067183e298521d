/**
 * The open-loop schedule: event `i` is due at `start + i / rate`, whatever the
 * bus does. Latency is measured from that intended time, so a stalled bus (or
 * event loop) shows up as latency instead of silently slowing the generator
 * (coordinated omission).
 */
export interface Schedule {
  /** Start time, ms (performance.now clock). */
  readonly start: number
  /** Events per second. */
  readonly rate: number
  /** Events in the whole run. */
  readonly total: number
}

export const make = (start: number, rate: number, durationMs: number): Schedule => {
  if (!(rate > 0)) throw new Error(`rate must be > 0, got ${rate}`)
  if (!(durationMs > 0)) throw new Error(`duration must be > 0, got ${durationMs}`)
  return { start, rate, total: Math.max(1, Math.floor((durationMs * rate) / 1000)) }
}

/** Intended send time of event `i`, ms. */
export const intended = (s: Schedule, i: number): number => s.start + (i * 1000) / s.rate

/** How many events (from 0) are due at `now`: the index of the first one not yet due. */
export const dueCount = (s: Schedule, now: number): number => {
  if (now < s.start) return 0
  // The epsilon absorbs float error: at exactly an intended time, that event is due.
  return Math.min(s.total, Math.floor(((now - s.start) * s.rate) / 1000 + 1e-6) + 1)
}

/** End of the schedule: the intended time of the last event, ms. */
export const end = (s: Schedule): number => intended(s, s.total - 1)
