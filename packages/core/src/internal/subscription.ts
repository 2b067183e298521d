/**
 * A subscription at run time: a bounded mailbox, a concurrency limit, and up
 * to `concurrency` worker fibers running its handler.
 *
 * Workers are started with `Effect.runForkWith` in the subscriber's context
 * and run the mailbox's backlog in one go while handlers complete
 * synchronously: no scheduler hop, no timer, one fiber per batch rather than
 * per delivery. Only a worker stuck in a handler that suspends is tracked and
 * given a timeout timer. No fiber waits for a permit: deliveries wait in the
 * mailbox, subscriptions wait for permits.
 */
import { Cause, Context, Effect, Exit, Fiber, Result } from "effect"
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
import type { SubscriptionStats } from "../Stats.ts"
import { Idle } from "./idle.ts"
import type { Job } from "./job.ts"
import type { Permits, Waiter } from "./permits.ts"
import { Ring } from "./ring.ts"
import { stackless } from "./stackless.ts"

/** One worker fiber's state, shared with the code that started it. */
interface Worker {
  /** The delivery it runs now. */
  job: Job | undefined
  /** It went asynchronous once: it retires after the current delivery. */
  suspended: boolean
  timedOut: boolean
  done: number
}

/** Told of deliveries that never reached the chain; answers a dead-letter id. */
export type Undelivered = (delivery: Delivery, error: DeliveryError) => Effect.Effect<string | undefined>

export interface Host {
  readonly permits: Permits
  /** Asks for `pump` once the dispatcher's current batch is routed. */
  kick(subscription: SubscriptionRuntime): void
  /**
   * Called once per delivery, whatever its end. The outcome is built only
   * when someone reads it (a `publishAndWait` tracker or a failure report),
   * so a plain successful delivery allocates nothing.
   */
  settled(
    subscription: SubscriptionRuntime,
    job: Job,
    status: Status,
    error: DeliveryError | undefined,
    deadLettered: boolean
  ): void
}

/**
 * The subscription whose worker runs the current fiber: set in every worker's
 * context, so that a handler closing its own subscription's scope is known.
 */
export const CurrentSubscription = Context.Reference<SubscriptionRuntime | undefined>(
  "@eventfabric/core/internal/CurrentSubscription",
  { defaultValue: () => undefined }
)

/**
 * The status of an error the middleware chain failed with, by the bus's own
 * classes, never by a `_tag` a handler could forge; `undefined` for anything
 * else. A value whose prototype lookup throws (a hostile Proxy) is "anything else".
 */
const statusOf = (error: unknown): Status | undefined => {
  try {
    if (error instanceof HandlerError) return "failed"
    if (error instanceof HandlerTimeout) return "timedOut"
    if (error instanceof CircuitOpen) return "rejected"
    if (error instanceof Overflow) return "overflowed"
  } catch {
    // fall through
  }
  return undefined
}

const isDeadLettered = (error: unknown): error is DeadLettered => {
  try {
    return error instanceof DeadLettered
  } catch {
    return false
  }
}

/**
 * Runs the handler for the middleware chain: its failures become
 * `HandlerError`, a run past the timeout `HandlerTimeout`. Interruption
 * (shutdown) passes through untouched.
 *
 * The handler runs in a child fiber of the current context (so services a
 * middleware provided are there): a handler that completes synchronously
 * costs one fiber and no timer; only one that suspends is raced against the
 * timeout. This keeps the per-attempt timeout, which Retry relies on, off the
 * common path.
 */
export const invoke =
  (handler: (envelope: Envelope) => Effect.Effect<unknown, unknown>): Deliver =>
  ({ envelope, subscription }) =>
    Effect.withFiber((parent) => {
      const toDelivery = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<void, DeliveryError> => {
        if (Exit.isSuccess(exit)) return Effect.void
        return Cause.hasInterruptsOnly(exit.cause)
          ? Effect.interrupt
          : Effect.fail(stackless(() => new HandlerError({ subscription: subscription.name, cause: exit.cause })))
      }
      let child: Fiber.Fiber<unknown, unknown>
      try {
        child = Effect.runForkWith(parent.context)(handler(envelope))
      } catch (defect) {
        return toDelivery(Exit.die(defect))
      }
      const exit = child.pollUnsafe()
      if (exit !== undefined) return toDelivery(exit)
      return Fiber.await(child).pipe(
        Effect.timeoutOrElse({
          duration: subscription.timeout,
          orElse: () =>
            Effect.andThen(
              Fiber.interrupt(child),
              Effect.fail(
                stackless(() => new HandlerTimeout({ subscription: subscription.name, timeout: subscription.timeout }))
              )
            )
        }),
        Effect.flatMap(toDelivery),
        Effect.onInterrupt(() => Fiber.interrupt(child))
      )
    })

export class SubscriptionRuntime implements Waiter {
  info: SubscriptionInfo
  readonly matches: (type: string) => boolean
  readonly filter: ((envelope: Envelope) => boolean) | undefined
  private readonly handler: (envelope: Envelope) => Effect.Effect<unknown, unknown>
  private readonly deliver: Deliver | undefined
  private readonly undelivered: Undelivered | undefined
  private readonly context: Context.Context<never>
  private readonly host: Host
  private readonly mailbox: Ring<Job>
  private readonly fibers = new Set<Fiber.Fiber<unknown, unknown>>()
  /** Workers that went asynchronous, with the delivery each is stuck in. */
  private readonly suspendedWorkers = new Set<Worker>()
  /** Live worker fibers (at most `concurrency`). */
  private running = 0
  /** Deliveries taken from the mailbox and not yet settled. */
  private inFlight = 0
  /** Queued for `pump` at the end of the dispatcher's batch. */
  kickPending = false
  /** Nothing more is started: what is left is being interrupted. */
  private stopped = false

  total = 0
  succeeded = 0
  failed = 0
  timedOut = 0
  rejected = 0
  overflowed = 0
  interrupted = 0
  /** Deliveries given up on at shutdown: their handler could not be interrupted. */
  abandoned = 0
  deadLettered = 0

  constructor(options: {
    readonly info: SubscriptionInfo
    readonly matches: (type: string) => boolean
    readonly filter: ((envelope: Envelope) => boolean) | undefined
    readonly handler: (envelope: Envelope) => Effect.Effect<unknown, unknown>
    readonly deliver: Deliver | undefined
    readonly undelivered: Undelivered | undefined
    readonly context: Context.Context<never>
    readonly host: Host
  }) {
    this.undelivered = options.undelivered
    this.info = options.info
    this.matches = options.matches
    this.filter = options.filter
    this.handler = options.handler
    this.deliver = options.deliver
    this.context = Context.add(options.context, CurrentSubscription, this)
    this.host = options.host
    this.mailbox = new Ring(options.info.mailbox)
  }

  /**
   * Queues a delivery. Workers are started later, by `pump`, once the
   * dispatcher has routed its current batch: one worker fiber then runs the
   * whole backlog. A full mailbox first tries to make room that way; only a
   * subscription already at its concurrency limit overflows.
   */
  offer(job: Job): void {
    this.total++
    if (this.stopped) {
      this.interrupted++
      return this.settle(job, "interrupted", undefined, false)
    }
    if (this.mailbox.push(job)) return this.host.kick(this)
    if (this.running < this.info.concurrency) {
      this.pump()
      // `pump` runs handlers inline, and what they resume may close this
      // subscription: a job pushed now would wait in a stopped mailbox forever
      // (found by the accounting property test).
      if (this.stopped) {
        this.interrupted++
        return this.settle(job, "interrupted", undefined, false)
      }
      if (this.mailbox.push(job)) return this.host.kick(this)
    }
    this.overflow(job)
  }

  // An overflow never reaches the middleware chain, so a dead-letter plugin
  // hears of it through `undelivered`; until that answers, the delivery counts
  // as in flight, so `drain` waits for it.
  private overflow(job: Job): void {
    const error = stackless(() => new Overflow({ subscription: this.info.name, capacity: this.info.mailbox }))
    const done = (entryId: string | undefined) => {
      this.overflowed++
      if (entryId !== undefined) this.deadLettered++
      this.settle(job, "overflowed", error, entryId !== undefined)
    }
    if (this.undelivered === undefined) return done(undefined)
    this.inFlight++
    const fiber = Effect.runForkWith(this.context)(
      this.undelivered({ envelope: job.envelope, subscription: this.info }, error)
    )
    const finish = (exit: Exit.Exit<string | undefined>) => {
      this.inFlight--
      done(Exit.isSuccess(exit) ? exit.value : undefined)
    }
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) return finish(exit)
    fiber.addObserver(finish)
  }

  /** Re-tunes concurrency at run time; more room starts waiting deliveries now. */
  setConcurrency(concurrency: number): void {
    this.info = { ...this.info, concurrency }
    this.pump()
  }

  /** A filter that threw: the delivery fails as if the handler had died. */
  failFilter(job: Job, defect: unknown): void {
    this.total++
    this.failed++
    this.settle(
      job,
      "failed",
      stackless(() => new HandlerError({ subscription: this.info.name, cause: Cause.die(defect) })),
      false
    )
  }

  /** Starts workers while there is work, concurrency and a permit. */
  pump(): void {
    while (!this.stopped && this.running < this.info.concurrency && this.mailbox.length > 0) {
      if (!this.host.permits.tryTake()) return this.host.permits.wait(this)
      this.startWorker()
    }
  }

  // A worker is a fiber that runs queued deliveries one after another while
  // they complete synchronously. If one suspends, `runForkWith` returns
  // without an exit: the worker is marked `suspended`, given a timeout timer
  // for the delivery it is stuck in, and retires once that delivery ends, so
  // the next worker can detect suspension again.
  private startWorker(): void {
    this.running++
    const worker: Worker = { job: undefined, suspended: false, timedOut: false, done: 0 }
    const fiber = Effect.runForkWith(this.context)(this.work(worker))
    if (fiber.pollUnsafe() !== undefined) return this.retire(worker)
    worker.suspended = true
    this.fibers.add(fiber)
    this.suspendedWorkers.add(worker)
    // With middleware, `invoke` applies the timeout inside the chain, once per attempt.
    const timer =
      this.deliver === undefined
        ? Effect.runForkWith(this.context)(
            Effect.sleep(this.info.timeout).pipe(
              Effect.andThen(
                Effect.sync(() => {
                  worker.timedOut = true
                  fiber.interruptUnsafe()
                })
              )
            )
          )
        : undefined
    fiber.addObserver(() => {
      this.fibers.delete(fiber)
      this.suspendedWorkers.delete(worker)
      timer?.interruptUnsafe()
      this.retire(worker)
      this.pump()
    })
  }

  // One continuation per delivery, its handlers made once per worker, and
  // no Exit allocated on success: this loop is the bus's hot path.
  private work(worker: Worker): Effect.Effect<void> {
    const step = (): Effect.Effect<void> => {
      if (worker.suspended || this.stopped) return Effect.void
      // Hand the permit back when other subscriptions wait for one.
      if (worker.done > 0 && this.host.permits.contended) return Effect.void
      const job = this.mailbox.shift()
      if (job === undefined) return Effect.void
      worker.job = job
      this.inFlight++
      let delivery: Effect.Effect<unknown, unknown>
      try {
        delivery = this.run(job.envelope)
      } catch (defect) {
        // A handler or middleware that throws instead of returning an Effect
        // fails its delivery like a defect would.
        delivery = Effect.die(defect)
      }
      return Effect.matchCauseEffect(delivery, settle)
    }
    // Both continuations take exactly one parameter: `matchCauseEffect` wraps
    // any other arity in a fresh closure per call.
    const settle = {
      onSuccess: (_: unknown): Effect.Effect<void> => {
        const job = worker.job
        // Abandoned at shutdown: already settled and counted.
        if (job === undefined) return Effect.void
        worker.job = undefined
        worker.done++
        this.inFlight--
        this.succeeded++
        this.settle(job, "succeeded", undefined, false)
        return step()
      },
      onFailure: (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
        const job = worker.job
        if (job === undefined) return Effect.void
        worker.job = undefined
        worker.done++
        this.finish(job, Exit.failCause(cause), worker.timedOut)
        return Cause.hasInterruptsOnly(cause) ? Effect.interrupt : step()
      }
    }
    return Effect.suspend(step)
  }

  private run(envelope: Envelope): Effect.Effect<unknown, unknown> {
    return this.deliver === undefined ? this.handler(envelope) : this.deliver({ envelope, subscription: this.info })
  }

  /** A worker ended: release its permit; settle a delivery it was cut off in. */
  private retire(worker: Worker): void {
    this.running--
    this.host.permits.release()
    const job = worker.job
    if (job === undefined) return this.quiet.check()
    worker.job = undefined
    this.finish(job, Exit.interrupt(), worker.timedOut)
  }

  private finish(job: Job, exit: Exit.Exit<unknown, unknown>, timedOut: boolean): void {
    this.inFlight--
    if (Exit.isSuccess(exit)) {
      this.succeeded++
      return this.settle(job, "succeeded", undefined, false)
    }
    const cause = exit.cause
    if (Cause.hasInterruptsOnly(cause)) {
      if (!timedOut) {
        this.interrupted++
        return this.settle(job, "interrupted", undefined, false)
      }
      this.timedOut++
      const error = stackless(() => new HandlerTimeout({ subscription: this.info.name, timeout: this.info.timeout }))
      return this.settle(job, "timedOut", error, false)
    }
    // Without middleware the failure is the handler's own value: whatever it
    // is (null, a forged `{ _tag: "CircuitOpen" }`, an object whose getters
    // throw) it is a HandlerError. Through the chain, `invoke` has already
    // wrapped handler failures, so only middleware errors are classified.
    let error: unknown
    let deadLettered = false
    let status: Status | undefined
    if (this.deliver !== undefined) {
      const found = Cause.findError(cause)
      error = Result.isSuccess(found) ? found.success : undefined
      if (isDeadLettered(error)) {
        deadLettered = true
        this.deadLettered++
        error = error.error
      }
      status = statusOf(error)
    }
    const typed =
      status !== undefined
        ? (error as DeliveryError)
        : stackless(() => new HandlerError({ subscription: this.info.name, cause }))
    status ??= "failed"
    this[status]++
    this.settle(job, status, typed, deadLettered)
  }

  private settle(job: Job, status: Status, error: DeliveryError | undefined, deadLettered: boolean): void {
    this.host.settled(this, job, status, error, deadLettered)
    this.quiet.check()
  }

  /** Waits until the mailbox is empty and nothing runs. */
  private readonly quiet = new Idle(() => this.inFlight === 0 && this.mailbox.length === 0)
  readonly idle: Effect.Effect<void> = this.quiet.await

  /** Nothing runs and nothing waits: what `abandon` leaves is what `stop` could not end. */
  get busy(): boolean {
    return this.inFlight > 0 || this.mailbox.length > 0
  }

  /**
   * Gives up on deliveries still running after `stop` interrupted them (an
   * uninterruptible handler): each is settled `interrupted`, counted
   * `abandoned`, and whatever its handler does later is ignored.
   */
  abandon(): number {
    let n = 0
    for (const worker of this.suspendedWorkers) {
      const job = worker.job
      if (job === undefined) continue
      worker.job = undefined
      n++
      this.inFlight--
      this.interrupted++
      this.abandoned++
      this.settle(job, "interrupted", undefined, false)
    }
    return n
  }

  /** Interrupts what runs and settles what waits, each counted `interrupted`. */
  stop(): void {
    this.stopped = true
    this.host.permits.cancel(this)
    for (let job = this.mailbox.shift(); job !== undefined; job = this.mailbox.shift()) {
      this.interrupted++
      this.settle(job, "interrupted", undefined, false)
    }
    for (const fiber of this.fibers) fiber.interruptUnsafe()
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
      abandoned: this.abandoned,
      deadLettered: this.deadLettered,
      queued: this.mailbox.length,
      inFlight: this.inFlight
    }
  }
}
