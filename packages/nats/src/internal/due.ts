/** When a scheduled publish is due, from its `delay` / `at` (the later wins), or why it is refused. */
import type { Plugin } from "@eventfabric/core"
import { Duration, Option } from "effect"

export const dueAt = (now: number, options: Plugin.PublishOptions): number | string => {
  let due = now
  if (options.delay !== undefined) {
    let d: Option.Option<Duration.Duration>
    try {
      d = Duration.fromInput(options.delay)
    } catch {
      d = Option.none()
    }
    if (Option.isNone(d) || !Duration.isFinite(d.value) || Duration.toMillis(d.value) < 0) {
      return "Expected `delay` to be a finite, non-negative duration"
    }
    due = now + Duration.toMillis(d.value)
  }
  if (options.at !== undefined) {
    const at: unknown = options.at
    const t = typeof at === "number" ? at : at instanceof Date ? at.getTime() : Number.NaN
    if (!Number.isFinite(t)) return "Expected `at` to be a valid time"
    due = Math.max(due, t)
  }
  return due
}
