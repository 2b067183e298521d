/**
 * How many tries a failed delivery took and since when it fails, handed from
 * the Retry middleware (inner) to the DeadLetter middleware (outer) on the
 * error itself: Retry notes them against the error it gives up with, and
 * DeadLetter looks them up when that error reaches it. Nothing is written
 * for a delivery that succeeds. (It was a cell provided in the context of
 * every delivery, a context copy per delivery whatever its outcome.)
 */

export interface Attempts {
  /** The envelope's `attempt` of the last try. */
  readonly attempts: number
  /** Epoch milliseconds of the first failed try. */
  readonly firstFailureAt: number
}

const byError = new WeakMap<object, Attempts>()

export const noteAttempts = (error: object, attempts: Attempts): void => {
  byError.set(error, attempts)
}

export const attemptsOf = (error: object): Attempts | undefined => byError.get(error)
