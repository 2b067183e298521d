/**
 * A lane: one bounded `Queue` per priority, its overflow strategy and its
 * counters. A `suspend` publisher waits on the lane's `space` latch rather
 * than inside `Queue.offer`, so that shutdown can wake it with a typed
 * `BusClosedError` instead of interrupting it or leaving it parked.
 */
import { Effect, Latch, Queue } from "effect"
import type { Priority } from "../Event.ts"
import type { LaneOptions, Strategy } from "../Options.ts"
import type { LaneStats } from "../Stats.ts"
import type { Job } from "./job.ts"

export class Lane {
  readonly priority: Priority
  readonly capacity: number
  readonly strategy: Strategy
  readonly queue: Queue.Queue<Job>
  private readonly space = Latch.makeUnsafe(false)
  private waiting = 0
  // Suspended publishers are woken once the lane is half empty, not on every
  // take: waking on each take would park and resume the publisher once per
  // event (~2 us each) instead of once per half-lane batch.
  private readonly lowWater: number

  accepted = 0
  dropped = 0
  evicted = 0
  dispatched = 0
  discarded = 0

  constructor(priority: Priority, options: LaneOptions, queue: Queue.Queue<Job>) {
    this.priority = priority
    this.capacity = options.capacity
    this.strategy = options.strategy
    this.queue = queue
    this.lowWater = Math.floor(options.capacity / 2)
  }

  static make = (priority: Priority, options: LaneOptions) =>
    Effect.map(Queue.bounded<Job>(options.capacity), (queue) => new Lane(priority, options, queue))

  get size(): number {
    return Queue.sizeUnsafe(this.queue)
  }

  offer(job: Job): boolean {
    return Queue.offerUnsafe(this.queue, job)
  }

  take(): Job | undefined {
    const exit = Queue.takeUnsafe(this.queue)
    if (exit === undefined || exit._tag !== "Success") return undefined
    if (this.waiting > 0 && Queue.sizeUnsafe(this.queue) <= this.lowWater) this.space.openUnsafe()
    return exit.value
  }

  /** Removes the oldest job without waking suspended publishers (sliding). */
  evictOldest(): Job | undefined {
    const exit = Queue.takeUnsafe(this.queue)
    if (exit === undefined || exit._tag !== "Success") return undefined
    this.evicted++
    return exit.value
  }

  /** Empties the lane at shutdown; each job counted `discarded`. */
  discardAll(): Array<Job> {
    const jobs: Array<Job> = []
    for (let exit = Queue.takeUnsafe(this.queue); exit?._tag === "Success"; exit = Queue.takeUnsafe(this.queue)) {
      jobs.push(exit.value)
    }
    this.discarded += jobs.length
    return jobs
  }

  /**
   * Waits for room, then enqueues. `isClosed` is checked on every wake, so a
   * publisher still waiting at shutdown leaves with `false`.
   */
  offerWhenSpace(job: Job, isClosed: () => boolean, onAccepted: () => void): Effect.Effect<boolean> {
    return Effect.suspend(() => {
      this.waiting++
      const attempt: Effect.Effect<boolean> = Effect.suspend(() => {
        if (isClosed()) return Effect.succeed(false)
        this.space.closeUnsafe()
        if (this.offer(job)) {
          // Counted in the same step as the offer: an interrupt cannot fall between.
          onAccepted()
          return Effect.succeed(true)
        }
        return Effect.flatMap(this.space.await, () => attempt)
      })
      return Effect.ensuring(
        attempt,
        Effect.sync(() => this.waiting--)
      )
    })
  }

  /** Wakes suspended publishers so they see the bus closed. */
  release(): void {
    this.space.openUnsafe()
  }

  stats(): LaneStats {
    return {
      capacity: this.capacity,
      strategy: this.strategy,
      queued: this.size,
      accepted: this.accepted,
      dropped: this.dropped,
      evicted: this.evicted,
      dispatched: this.dispatched,
      discarded: this.discarded
    }
  }
}
