/**
 * The global limit on handlers running at once.
 *
 * Effect's `Semaphore` parks one fiber per waiter: a delivery waiting for a
 * permit would be a fiber, and under load the number of parked fibers grows
 * without bound (the naive bus's 340 MB in PERF-NOTES). Here deliveries wait
 * in their subscription's bounded mailbox and only the subscriptions queue for
 * permits, first come first served, so waiting costs no fiber and no memory
 * beyond the mailboxes.
 */
export interface Waiter {
  /** Starts as many queued deliveries as permits and concurrency allow. */
  pump(): void
}

export class Permits {
  private taken = 0
  private pumping = false
  private readonly waiters = new Set<Waiter>()
  max: number

  constructor(max: number) {
    this.max = max
  }

  tryTake(): boolean {
    if (this.taken >= this.max) return false
    this.taken++
    return true
  }

  /** Queues a subscription until a permit frees; idempotent. */
  wait(waiter: Waiter): void {
    this.waiters.add(waiter)
  }

  cancel(waiter: Waiter): void {
    this.waiters.delete(waiter)
  }

  release(): void {
    this.taken--
    if (this.waiters.size > 0) this.wake()
  }

  resize(max: number): void {
    this.max = max
    this.wake()
  }

  // A loop, not recursion: a woken subscription whose handler completes
  // synchronously releases its permit inside `pump`, which lands here again.
  private wake(): void {
    if (this.pumping) return
    this.pumping = true
    try {
      while (this.taken < this.max && this.waiters.size > 0) {
        const waiter = this.waiters.values().next().value as Waiter
        this.waiters.delete(waiter)
        waiter.pump()
      }
    } finally {
      this.pumping = false
    }
  }
}
