/** A retry loop that never gives up, with capped exponential backoff. */
import { Backoff } from "@eventfabric/transport"
import { Duration, Effect } from "effect"
import { errorMessage } from "./redis.ts"

/** Retries `self` with backoff until it succeeds, logging each failure once. */
export const retryForever = <A, E, R>(self: Effect.Effect<A, E, R>, what: string, backoff: Backoff.Backoff) =>
  Effect.gen(function* () {
    let attempt = 0
    while (true) {
      const exit = yield* Effect.exit(self)
      if (exit._tag === "Success") return exit.value
      attempt++
      const wait = Backoff.delay(backoff, attempt)
      const reason = exit.cause.reasons[0]
      yield* Effect.logWarning(
        `${what} failed (${reason?._tag === "Fail" ? errorMessage(reason.error) : "defect"}); retry ${attempt} in ${Duration.format(
          wait
        )}`
      )
      yield* Effect.sleep(wait)
    }
  })
