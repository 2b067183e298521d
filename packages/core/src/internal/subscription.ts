/**
 * A subscription at run time: a mailbox with one bounded ring per lane, a
 * concurrency limit, optional keyed order.
 *
 * `pump` starts what may start: a handler whose effect is already an `Exit`
 * is settled on the spot; otherwise one batch fiber (`runForkWith`, no
 * scheduler hop) runs that delivery and the backlog after it while handlers
 * complete at once. Only a delivery that suspends keeps its fiber, its slot
 * and its permit, and gets a timeout timer; its batch ends after it. A fiber
 * per delivery was measured first and cost 0.8x in allocation and GC.
 *
 * CRITICAL deliveries have their own `concurrency` slots and need no global
 * permit: a subscription stuck in NORMAL or LOW work still runs its CRITICAL
 * deliveries, so its CRITICAL ring only fills when it is stuck on CRITICAL
 * work itself, and only then can it hold the CRITICAL lane.
 */
import { Cause, Context, Effect, Exit, type Fiber, Result } from "effect"
import {
  CircuitOpen,
  DeadLettered,
  type Delivery,
  type DeliveryError,
  HandlerError,
  HandlerTimeout,
  Overflow,
  type Status,
  type SubscriptionInfo
} from "../Delivery.ts"
import type { Envelope } from "../Envelope.ts"
import type { Deliver } from "../Middleware.ts"
import type { Strategy } from "../Options.ts"
import type { SubscriptionStats } from "../Stats.ts"
import { Idle } from "./idle.ts"
import type { Handler } from "./invoke.ts"
import type { Job, LaneIndex } from "./job.ts"
import type { Permits, Waiter } from "./permits.ts"
import { Ring } from "./ring.ts"
import { stackless } from "./stackless.ts"

/** Told of deliveries that never reached the chain; answers a dead-letter id. */
export type Undelivered = (delivery: Delivery, error: DeliveryError) => Effect.Effect<string | undefined>

/** An error, or how to build it when someone reads it. */
export type LazyError = DeliveryError | (() => DeliveryError)

export interface Host {
  readonly permits: Permits
  /**
   * Called once per delivery, whatever its end. `report`: publish it as a
   * `system.handler_error` (coalesced per subscription).
   */
  settled(
    subscription: SubscriptionRuntime,
    job: Job,
    status: Status,
    error: LazyError | undefined,
    deadLettered: boolean,
    report: boolean
  ): void
  /** A lane the dispatcher holds on this subscription has room again. */
  roomFreed(subscription: SubscriptionRuntime): void
  /**
   * Asks for `pump` once the dispatcher has routed a few more events, so one
   * batch fiber runs a backlog rather than one delivery.
   */
  kick(subscription: SubscriptionRuntime): void
}

/**
 * The subscription whose delivery runs in the current fiber: in each
 * subscription's context (set once, no cost per delivery), so that a handler
 * closing its own subscription's scope is recognised.
 */
export const CurrentSubscription = Context.Reference<SubscriptionRuntime | undefined>(
  "@eventfabric/core/internal/CurrentSubscription",
  { defaultValue: () => undefined }
)

/** No key: the subscription has no `orderBy`. */
const NoKey: unique symbol = Symbol("NoKey")
type Key = string | number | typeof NoKey

/** A batch fiber's state, shared with the code that started it. */
interface Worker {
  /** The delivery it runs now. */
  job: Job | undefined
  key: Key
  chained: boolean
  timedOut: boolean
  /** It went asynchronous once: it ends after the current delivery. */
  suspended: boolean
}

const poolOf = (lane: LaneIndex): 0 | 1 => (lane === 0 ? 0 : 1)

// Classified by the bus's own classes, never by a tag a handler could forge.
const classify = (error: unknown): DeliveryError | undefined =>
  error instanceof HandlerError ||
  error instanceof HandlerTimeout ||
  error instanceof CircuitOpen ||
  error instanceof Overflow
    ? error
    : undefined

const statusOf = (error: DeliveryError): Status =>
  error instanceof HandlerError
    ? "failed"
    : error instanceof HandlerTimeout
      ? "timedOut"
      : error instanceof CircuitOpen
        ? "rejected"
        : "overflowed"

export interface Options {
  readonly info: SubscriptionInfo
  /** Per lane: what a full mailbox does. */
  readonly strategies: readonly [Strategy, Strategy, Strategy]
  readonly matches: (type: string) => boolean
  readonly filter: ((envelope: Envelope) => boolean) | undefined
  readonly orderBy: ((envelope: Envelope) => string | number) | undefined
  readonly handler: Handler
  /** The middleware chain and its `direct` test, when middleware is installed. */
  readonly chain:
    | { readonly deliver: Deliver; readonly direct: (e: Effect.Effect<unknown, unknown>) => boolean }
    | undefined
  readonly undelivered: Undelivered | undefined
  readonly context: Context.Context<never>
  readonly host: Host
}

export class SubscriptionRuntime implements Waiter {
  info: SubscriptionInfo
  readonly matches: (type: string) => boolean
  readonly filter: ((envelope: Envelope) => boolean) | undefined
  private readonly o: Options
  private readonly rings: readonly [Ring<Job>, Ring<Job>, Ring<Job>]
  /** The lane of each delivery in rings 1 and 2, in arrival order. */
  private readonly order: Ring<LaneIndex>
  /** Taken from a ring, waiting for their key (counted as mailbox room). */
  private readonly parked = [0, 0, 0]
  /** Held by the dispatcher for a full `suspend` ring. */
  private readonly blocked = [0, 0, 0]
  /** Keys with a delivery running, and the deliveries waiting for each. */
  private readonly busy = new Map<string | number, Array<Job>>()
  /** Keyed deliveries whose key became free, per pool, in order. */
  private readonly ready: [Array<[Job, Key]>, Array<[Job, Key]>] = [[], []]
  private readonly running = [0, 0]
  /** Batch fibers that suspended, with the delivery each is stuck in. */
  private readonly suspendedWorkers = new Map<Worker, Fiber.Fiber<unknown, unknown>>()
  private readonly lowWater: number
  private pumping = false
  /** Queued for `pump` by the dispatcher. */
  kickPending = false
  private inFlight = 0
  private stopped = false
  /** The coalesced failure report this subscription owes, if any. */
  report: { count: number; envelope: Envelope; error: DeliveryError } | undefined

  total = 0
  succeeded = 0
  failed = 0
  timedOut = 0
  rejected = 0
  overflowed = 0
  interrupted = 0
  deadLettered = 0
  abandoned = 0

  private readonly context: Context.Context<never>

  constructor(options: Options) {
    this.o = options
    this.context = Context.add(options.context, CurrentSubscription, this)
    this.info = options.info
    this.matches = options.matches
    this.filter = options.filter
    const capacity = options.info.mailbox
    this.rings = [new Ring(capacity), new Ring(capacity), new Ring(capacity)]
    this.order = new Ring(2 * capacity)
    this.lowWater = Math.floor((capacity - 1) / 2)
  }

  private occupancy(lane: LaneIndex): number {
    return this.rings[lane].length + this.parked[lane]!
  }

  /**
   * Queues a delivery and runs what it can. `false`: the lane's ring is full
   * and its strategy is `suspend`; the dispatcher holds the delivery (counted
   * `blocked`) and calls `place` again once `roomFreed` says so.
   */
  offer(job: Job): boolean {
    this.total++
    if (this.stopped) {
      this.interrupted++
      this.settle(job, "interrupted", undefined, false, false)
      return true
    }
    const lane = job.lane
    if (this.occupancy(lane) < this.info.mailbox) {
      this.push(job)
      this.o.host.kick(this)
      return true
    }
    // Full: first try to make room by running what may run now. Meanwhile the
    // delivery counts as queued, so the subscription does not look quiet to a
    // close that those runs may trigger.
    this.incoming++
    this.pump()
    this.incoming--
    if (this.stopped || this.occupancy(lane) < this.info.mailbox) return this.place(job, false)
    switch (this.o.strategies[lane]) {
      case "suspend": {
        this.blocked[lane]!++
        return false
      }
      case "sliding": {
        const oldest = this.rings[lane].shift()
        if (oldest === undefined) {
          this.overflow(job, false)
        } else {
          this.rings[lane].push(job)
          this.overflow(oldest, false)
        }
        return true
      }
      case "dropping": {
        this.overflow(job, false)
        return true
      }
      case "fail": {
        this.overflow(job, true)
        return true
      }
    }
  }

  private roomWaiters: Array<() => void> = []

  private wakeRoomWaiters(): void {
    if (this.roomWaiters.length === 0) return
    const waiters = this.roomWaiters
    this.roomWaiters = []
    for (const resume of waiters) resume()
  }

  /**
   * Completes once a full mailbox the caller was refused by has room again
   * (or the subscription stopped): a redelivery waits here, not in a poll.
   */
  readonly room: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.stopped) return resume(Effect.void)
    const waiter = () => resume(Effect.void)
    this.roomWaiters.push(waiter)
    return Effect.sync(() => {
      this.roomWaiters = this.roomWaiters.filter((w) => w !== waiter)
    })
  })

  /** Retries a held delivery; `true` once it is queued (or settled, if stopped). */
  place(job: Job, held = true): boolean {
    const lane = job.lane
    if (!this.stopped && this.occupancy(lane) >= this.info.mailbox) return false
    if (held) this.blocked[lane]!--
    if (this.stopped) {
      this.interrupted++
      this.settle(job, "interrupted", undefined, false, false)
      return true
    }
    this.push(job)
    this.o.host.kick(this)
    return true
  }

  // NORMAL and LOW share pool 1, run in the order the dispatcher routed them
  // (so its weights hold per subscription too): `order` keeps the lane of
  // each, and a sliding eviction swaps one delivery for another in its lane.
  private push(job: Job): void {
    this.rings[job.lane].push(job)
    if (job.lane !== 0) this.order.push(job.lane)
  }

  // Made once: a refusal storm allocates no closure per refused delivery.
  private readonly overflowError = (): DeliveryError =>
    stackless(() => new Overflow({ subscription: this.info.name, capacity: this.info.mailbox }))

  // A refused delivery never reaches the middleware chain, so a dead-letter
  // plugin hears of it through `undelivered`; until that answers, it counts as
  // in flight, so `drain` waits for it. Without a reader nothing is built.
  private overflow(job: Job, report: boolean): void {
    const undelivered = this.o.undelivered
    if (undelivered === undefined) {
      this.overflowed++
      return this.settle(job, "overflowed", this.overflowError, false, report)
    }
    const error = this.overflowError()
    this.inFlight++
    const done = (exit: Exit.Exit<string | undefined>) => {
      this.inFlight--
      const entryId = Exit.isSuccess(exit) ? exit.value : undefined
      this.overflowed++
      if (entryId !== undefined) this.deadLettered++
      this.settle(job, "overflowed", error, entryId !== undefined, report)
    }
    const fiber = Effect.runForkWith(this.context)(
      undelivered({ envelope: job.envelope, subscription: this.info }, error)
    )
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) return done(exit)
    fiber.addObserver(done)
  }

  /** Re-tunes concurrency at run time; more room starts waiting deliveries now. */
  setConcurrency(concurrency: number): void {
    this.info = { ...this.info, concurrency }
    this.pump()
  }

  /** A filter that threw: the delivery fails as if the handler had died. */
  failFilter(job: Job, defect: unknown): void {
    this.total++
    this.fail(job, defect)
  }

  private fail(job: Job, defect: unknown): void {
    this.failed++
    this.settle(
      job,
      "failed",
      () => stackless(() => new HandlerError({ subscription: this.info.name, cause: Cause.die(defect) })),
      false,
      true
    )
  }

  /** The next delivery that may start now (CRITICAL first), its key in `takenKey`. */
  private next(): Job | undefined {
    if (this.stopped) return undefined
    if (this.running[0]! < this.info.concurrency) {
      const job = this.take(0)
      if (job !== undefined) return job
    }
    if (this.running[1]! >= this.info.concurrency) return undefined
    return this.take(1)
  }

  /**
   * Runs queued deliveries while there is work, concurrency and a permit.
   * A handler whose effect is an `Exit` is settled right here; otherwise a
   * batch fiber runs it, and the deliveries after it, while they complete at
   * once (one fiber for a backlog, not one per delivery: a fiber per delivery
   * measured 0.66x the throughput, in allocation and GC).
   */
  pump(): void {
    if (this.pumping) return
    this.pumping = true
    try {
      for (let job = this.next(); job !== undefined; job = this.next()) {
        const key = this.takenKey
        const effect = this.begin(job)
        if (Exit.isExit(effect)) {
          this.complete(job, key, effect, false, this.chained)
          continue
        }
        const worker: Worker = { job, key, chained: this.chained, timedOut: false, suspended: false }
        const fiber = Effect.runForkWith(this.context)(this.batch(worker, effect))
        if (fiber.pollUnsafe() === undefined) this.suspended(worker, fiber)
      }
    } finally {
      this.pumping = false
    }
  }

  private batch(worker: Worker, first: Effect.Effect<unknown, unknown>): Effect.Effect<void> {
    // Both continuations take one parameter: `matchCauseEffect` wraps any
    // other arity in a fresh closure per call.
    const settle = {
      onSuccess: (_: unknown): Effect.Effect<void> => {
        const job = worker.job
        // Abandoned at shutdown: already settled and counted.
        if (job === undefined) return Effect.void
        worker.job = undefined
        this.complete(job, worker.key, Exit.void, false, worker.chained)
        return step()
      },
      onFailure: (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
        const job = worker.job
        if (job === undefined) return Effect.void
        worker.job = undefined
        this.complete(job, worker.key, Exit.failCause(cause), worker.timedOut, worker.chained)
        return Cause.hasInterruptsOnly(cause) ? Effect.interrupt : step()
      }
    }
    const step = (): Effect.Effect<void> => {
      // Went asynchronous once: it ends after that delivery, so the next
      // batch can tell a suspension again.
      if (worker.suspended) return Effect.void
      // Inside the fiber an `Exit` needs no test of its own: the run loop
      // takes it as it comes (the `Exit.isExit` check measured ~6% here).
      const job = this.next()
      if (job === undefined) return Effect.void
      worker.key = this.takenKey
      const effect = this.begin(job)
      worker.job = job
      worker.chained = this.chained
      return Effect.matchCauseEffect(effect, settle)
    }
    return Effect.matchCauseEffect(first, settle)
  }

  private hasWork(pool: 0 | 1): boolean {
    return (
      this.ready[pool].length > 0 ||
      (pool === 0 ? this.rings[0].length > 0 : this.rings[1].length + this.rings[2].length > 0)
    )
  }

  // The next delivery of a pool that may start now, its key in `takenKey`.
  /** The key of the job `take` answered last (a field, not a tuple: no allocation per delivery). */
  private takenKey: Key = NoKey

  private take(pool: 0 | 1): Job | undefined {
    if (!this.hasWork(pool)) return undefined
    if (pool === 1 && !this.o.host.permits.tryTake()) {
      this.o.host.permits.wait(this)
      return undefined
    }
    const ready = this.ready[pool]
    if (ready.length > 0) {
      const [job, key] = ready.shift()!
      const lane = job.lane
      this.parked[lane]!--
      if (this.blocked[lane]! > 0 && this.occupancy(lane) <= this.lowWater) {
        this.o.host.roomFreed(this)
        this.wakeRoomWaiters()
      }
      this.takenKey = key
      return job
    }
    for (;;) {
      const job = this.shift(pool)
      if (job === undefined) {
        if (pool === 1) this.o.host.permits.release()
        return undefined
      }
      const orderBy = this.o.orderBy
      if (orderBy === undefined) {
        this.takenKey = NoKey
        return job
      }
      let key: string | number
      try {
        key = orderBy(job.envelope)
      } catch (defect) {
        this.fail(job, defect)
        continue
      }
      const waiting = this.busy.get(key)
      if (waiting === undefined) {
        this.busy.set(key, [])
        this.takenKey = key
        return job
      }
      waiting.push(job)
      this.parked[job.lane]!++
    }
  }

  private shift(pool: 0 | 1): Job | undefined {
    const lane: LaneIndex = pool === 0 ? 0 : (this.order.shift() ?? 1)
    const job = this.rings[lane].shift()
    if (job !== undefined && this.blocked[lane]! > 0 && this.occupancy(lane) <= this.lowWater) {
      this.o.host.roomFreed(this)
      this.wakeRoomWaiters()
    }
    return job
  }

  /** Whether the effect `begin` answered last came from the middleware chain. */
  private chained = false

  /** Counts a delivery started and answers the effect to run for it. */
  private begin(job: Job): Effect.Effect<unknown, unknown> {
    this.inFlight++
    this.running[poolOf(job.lane)]!++
    // With middleware, `invoke` applies the timeout inside the chain, per
    // attempt, and types the handler's failures: only then is an error value
    // of the bus's own classes trusted (a handler cannot forge `CircuitOpen`).
    this.chained = false
    try {
      const chain = this.o.chain
      if (chain === undefined) return this.o.handler(job.envelope)
      const wrapped = chain.deliver({ envelope: job.envelope, subscription: this.info })
      // Nothing wraps the handler: run it as without middleware.
      if (chain.direct(wrapped)) return this.o.handler(job.envelope)
      this.chained = true
      return wrapped
    } catch (defect) {
      // A handler or middleware that throws instead of returning an Effect
      // fails its delivery like a defect would.
      return Exit.die(defect)
    }
  }

  // The batch fiber went asynchronous, in a delivery (`worker.job`) or
  // between two (a scheduler yield): that delivery keeps its slot and permit
  // and, with no middleware applying one per attempt, gets a timeout timer.
  private suspended(worker: Worker, fiber: Fiber.Fiber<unknown, unknown>): void {
    worker.suspended = true
    this.suspendedWorkers.set(worker, fiber)
    const timer =
      worker.job !== undefined && !worker.chained
        ? Effect.runForkWith(this.context)(
            Effect.andThen(
              Effect.sleep(this.info.timeout),
              Effect.sync(() => {
                worker.timedOut = true
                fiber.interruptUnsafe()
              })
            )
          )
        : undefined
    fiber.addObserver(() => {
      timer?.interruptUnsafe()
      this.suspendedWorkers.delete(worker)
      // Cut off inside a delivery (interrupted before its continuation ran).
      const job = worker.job
      if (job !== undefined) {
        worker.job = undefined
        this.complete(job, worker.key, Exit.interrupt(), worker.timedOut, worker.chained)
      }
      this.pump()
    })
  }

  private complete(job: Job, key: Key, exit: Exit.Exit<unknown, unknown>, timedOut: boolean, chained: boolean): void {
    this.inFlight--
    const pool = poolOf(job.lane)
    this.running[pool]!--
    if (pool === 1) this.o.host.permits.release()
    if (key !== NoKey) this.release(key)
    if (Exit.isSuccess(exit)) {
      this.succeeded++
      return this.settle(job, "succeeded", undefined, false, false)
    }
    const cause = exit.cause
    if (Cause.hasInterruptsOnly(cause)) {
      if (!timedOut) {
        this.interrupted++
        return this.settle(job, "interrupted", undefined, false, false)
      }
      this.timedOut++
      const error = () =>
        stackless(() => new HandlerTimeout({ subscription: this.info.name, timeout: this.info.timeout }))
      return this.settle(job, "timedOut", error, false, true)
    }
    const found = chained ? Cause.findError(cause) : undefined
    let error: unknown = found !== undefined && Result.isSuccess(found) ? found.success : undefined
    let deadLettered = false
    if (error instanceof DeadLettered) {
      deadLettered = true
      this.deadLettered++
      error = error.error
    }
    const typed = classify(error)
    if (typed === undefined) {
      this.failed++
      const lazy = () => stackless(() => new HandlerError({ subscription: this.info.name, cause }))
      return this.settle(job, "failed", lazy, deadLettered, true)
    }
    const status = statusOf(typed)
    this[status]++
    this.settle(job, status, typed, deadLettered, status !== "rejected")
  }

  // A keyed delivery ended: the next one of its key, if any, is ready.
  private release(key: string | number): void {
    const waiting = this.busy.get(key)!
    const next = waiting.shift()
    if (next === undefined) {
      this.busy.delete(key)
      return
    }
    this.ready[poolOf(next.lane)].push([next, key])
  }

  private settle(job: Job, status: Status, error: LazyError | undefined, deadLettered: boolean, report: boolean): void {
    this.o.host.settled(this, job, status, error, deadLettered, report)
    this.quiet.check()
    if (this.quietHooks.length > 0 && this.quietNow()) {
      const hooks = this.quietHooks
      this.quietHooks = []
      for (const f of hooks) f()
    }
  }

  /** Deliveries being offered while `offer` makes room. */
  private incoming = 0

  private queued(): number {
    let n = this.incoming
    for (let lane = 0; lane < 3; lane++) n += this.rings[lane]!.length + this.parked[lane]! + this.blocked[lane]!
    return n
  }

  /** Waits until the mailbox is empty and nothing runs. */
  private readonly quiet = new Idle(() => this.inFlight === 0 && this.queued() === 0)
  readonly idle: Effect.Effect<void> = this.quiet.await

  quietNow(): boolean {
    return this.inFlight === 0 && this.queued() === 0
  }

  /** Calls `f` once nothing is queued or running (now, if so already). */
  whenQuiet(f: () => void): void {
    if (this.quietNow()) return f()
    this.quietHooks.push(f)
  }
  private quietHooks: Array<() => void> = []

  /**
   * After `stop`, deliveries whose handler ignored the interrupt
   * (uninterruptible) are abandoned: counted `interrupted` and `abandoned`,
   * their waiters answered, their fibers left to run unobserved.
   */
  abandon(): number {
    let n = 0
    for (const worker of Array.from(this.suspendedWorkers.keys())) {
      this.suspendedWorkers.delete(worker)
      const job = worker.job
      if (job === undefined) continue
      worker.job = undefined
      n++
      this.inFlight--
      this.running[poolOf(job.lane)]!--
      if (poolOf(job.lane) === 1) this.o.host.permits.release()
      if (worker.key !== NoKey) this.release(worker.key)
      this.interrupted++
      this.abandoned++
      this.settle(job, "interrupted", undefined, false, false)
    }
    return n
  }

  /** Interrupts what runs and settles what waits, each counted `interrupted`. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.o.host.permits.cancel(this)
    const waiting: Array<Job> = []
    for (const ready of this.ready) for (const [job] of ready) waiting.push(job)
    for (const jobs of this.busy.values()) waiting.push(...jobs)
    this.ready[0].length = 0
    this.ready[1].length = 0
    this.busy.clear()
    this.parked.fill(0)
    for (const ring of this.rings) for (let job = ring.shift(); job !== undefined; job = ring.shift()) waiting.push(job)
    while (this.order.shift() !== undefined) {}
    for (const job of waiting) {
      this.interrupted++
      this.settle(job, "interrupted", undefined, false, false)
    }
    for (const fiber of Array.from(this.suspendedWorkers.values())) fiber.interruptUnsafe()
    // Deliveries the dispatcher holds for this subscription are settled by it.
    if (this.blocked.some((n) => n > 0)) this.o.host.roomFreed(this)
    this.wakeRoomWaiters()
  }

  stats(): SubscriptionStats {
    return {
      name: this.info.name,
      concurrency: this.info.concurrency,
      mailbox: this.info.mailbox,
      total: this.total,
      succeeded: this.succeeded,
      failed: this.failed,
      timedOut: this.timedOut,
      rejected: this.rejected,
      overflowed: this.overflowed,
      interrupted: this.interrupted,
      deadLettered: this.deadLettered,
      abandoned: this.abandoned,
      queued: this.queued(),
      blocked: this.blocked[0]! + this.blocked[1]! + this.blocked[2]!,
      inFlight: this.inFlight
    }
  }
}
