/**
 * A per-delivery cell shared by the delivery plugins: the dead-letter
 * middleware (outer) opens one, the retry middleware (inner) records in it the
 * attempt number it passed down and when the first attempt failed, so the
 * dead letter knows how many attempts the delivery took and since when it
 * fails.
 */
import { Context } from "effect"

export interface AttemptCell {
  /** The envelope's `attempt` of the last try. */
  attempt: number
  /** Epoch milliseconds of the first failed try, when one was recorded. */
  firstFailureAt: number | undefined
}

export const CurrentAttempt = Context.Reference<AttemptCell | undefined>(
  "@eventfabric/plugins/internal/CurrentAttempt",
  { defaultValue: () => undefined }
)
