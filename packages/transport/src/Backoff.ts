/**
 * Capped exponential backoff with jitter: the redelivery delay of a nacked
 * message and the reconnect delay, in every engine.
 *
 * @since 0.1.0
 */
import { Duration } from "effect"

/**
 * @since 0.1.0
 */
export interface Backoff {
  readonly base: Duration.Duration
  readonly max: Duration.Duration
}

/**
 * Delay before retry number `attempt` (1-based): `base * 2^(attempt-1)`,
 * capped at `max`, within ±20% jitter so retries of many messages spread out.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { Backoff } from "@eventfabric/transport"
 * Backoff.delay({ base: Duration.millis(100), max: Duration.seconds(5) }, 3) // about 400 ms
 * ```
 * @since 0.1.0
 */
export const delay = (backoff: Backoff, attempt: number): Duration.Duration => {
  const base = Duration.toMillis(backoff.base)
  const capped = Math.min(Duration.toMillis(backoff.max), base * 2 ** Math.min(Math.max(attempt, 1) - 1, 30))
  return Duration.millis(Math.round(capped * (0.8 + Math.random() * 0.4)))
}
