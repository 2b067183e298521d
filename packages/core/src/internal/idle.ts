/**
 * Waiting until a condition holds — "nothing queued, nothing running" — that
 * only the code changing the state can tell. Waiters are resumed by `check`,
 * which callers run after each change; with no waiter it costs one length test.
 */
import { Effect } from "effect"

export class Idle {
  private waiters: Array<() => void> = []
  private readonly isIdle: () => boolean

  constructor(isIdle: () => boolean) {
    this.isIdle = isIdle
  }

  /** Resumes the waiters if the condition holds now. */
  check(): void {
    if (this.waiters.length === 0 || !this.isIdle()) return
    const waiters = this.waiters
    this.waiters = []
    for (const resume of waiters) resume()
  }

  /** Completes when the condition holds; interruptible. */
  readonly await: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.isIdle()) return resume(Effect.void)
    const waiter = () => resume(Effect.void)
    this.waiters.push(waiter)
    return Effect.sync(() => {
      this.waiters = this.waiters.filter((w) => w !== waiter)
    })
  })
}
