/** Capped exponential backoff with jitter, and a retry loop that never gives up. */
import { Duration, Effect } from "effect"
import { errorMessage } from "./redis.ts"

export interface Backoff {
  readonly base: Duration.Duration
  readonly max: Duration.Duration
}

/** Delay before retry number `attempt` (1-based). */
export const delay = (backoff: Backoff, attempt: number): Duration.Duration => {
  const base = Duration.toMillis(backoff.base)
  const capped = Math.min(Duration.toMillis(backoff.max), base * 2 ** Math.min(attempt - 1, 30))
  return Duration.millis(Math.round(capped * (0.8 + Math.random() * 0.4)))
}

/** Retries `self` with backoff until it succeeds, logging each failure once. */
export const retryForever = <A, E, R>(self: Effect.Effect<A, E, R>, what: string, backoff: Backoff) =>
  Effect.gen(function* () {
    let attempt = 0
    while (true) {
      const exit = yield* Effect.exit(self)
      if (exit._tag === "Success") return exit.value
      attempt++
      const wait = delay(backoff, attempt)
      const reason = exit.cause.reasons[0]
      yield* Effect.logWarning(
        `${what} failed (${reason?._tag === "Fail" ? errorMessage(reason.error) : "defect"}); retry ${attempt} in ${Duration.format(
          wait
        )}`
      )
      yield* Effect.sleep(wait)
    }
  })
