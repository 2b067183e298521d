/**
 * A subscription at run time: a bounded mailbox, a concurrency limit, and a
 * handler run as one fiber per delivery.
 *
 * The fiber is started with `Effect.runForkWith` in the subscriber's context:
 * a handler that completes synchronously finishes inside that call (~0.1 us,
 * no scheduler hop, no timer), and only a handler that suspends is tracked,
 * observed and given a timeout timer. No fiber waits for anything: deliveries
 * wait in the mailbox, subscriptions wait for permits.
 */
import { Cause, type Context, Effect, Exit, type Fiber, Result } from "effect"
import {
  DeadLettered,
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
import type { Job } from "./job.ts"
import type { Permits, Waiter } from "./permits.ts"
import { Ring } from "./ring.ts"

export interface Host {
  readonly permits: Permits
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

const deliveryTags = new Set(["HandlerError", "HandlerTimeout", "CircuitOpen", "Overflow"])

const statusOf: Record<DeliveryError["_tag"], Status> = {
  HandlerError: "failed",
  HandlerTimeout: "timedOut",
  CircuitOpen: "rejected",
  Overflow: "overflowed"
}

/**
 * Runs the handler for the middleware chain: its failures become
 * `HandlerError`, a run past the timeout `HandlerTimeout`. Interruption
 * (shutdown) passes through untouched.
 */
export const invoke =
  (handler: (envelope: Envelope) => Effect.Effect<unknown, unknown>): Deliver =>
  ({ envelope, subscription }) =>
    handler(envelope).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.fail(new HandlerError({ subscription: subscription.name, cause }))
      ),
      Effect.timeoutOrElse({
        duration: subscription.timeout,
        orElse: () =>
          Effect.fail(new HandlerTimeout({ subscription: subscription.name, timeout: subscription.timeout }))
      }),
      Effect.asVoid
    )

export class SubscriptionRuntime implements Waiter {
  readonly info: SubscriptionInfo
  readonly matches: (type: string) => boolean
  readonly filter: ((envelope: Envelope) => boolean) | undefined
  private readonly handler: (envelope: Envelope) => Effect.Effect<unknown, unknown>
  private readonly deliver: Deliver | undefined
  private readonly context: Context.Context<never>
  private readonly host: Host
  private readonly mailbox: Ring<Job>
  private readonly fibers = new Set<Fiber.Fiber<unknown, unknown>>()
  private idleWaiters: Array<() => void> = []
  private running = 0
  /** No new deliveries are taken: the subscription's scope is closing. */
  closed = false
  /** Nothing more is started: what is left is being interrupted. */
  private stopped = false

  total = 0
  succeeded = 0
  failed = 0
  timedOut = 0
  rejected = 0
  overflowed = 0
  interrupted = 0
  deadLettered = 0

  constructor(options: {
    readonly info: SubscriptionInfo
    readonly matches: (type: string) => boolean
    readonly filter: ((envelope: Envelope) => boolean) | undefined
    readonly handler: (envelope: Envelope) => Effect.Effect<unknown, unknown>
    readonly deliver: Deliver | undefined
    readonly context: Context.Context<never>
    readonly host: Host
  }) {
    this.info = options.info
    this.matches = options.matches
    this.filter = options.filter
    this.handler = options.handler
    this.deliver = options.deliver
    this.context = options.context
    this.host = options.host
    this.mailbox = new Ring(options.info.mailbox)
  }

  offer(job: Job): void {
    this.total++
    if (this.stopped) {
      this.interrupted++
      return this.settle(job, "interrupted", undefined, false)
    }
    if (this.running < this.info.concurrency && this.mailbox.length === 0 && this.host.permits.tryTake()) {
      return this.start(job)
    }
    if (this.mailbox.push(job)) {
      if (this.running < this.info.concurrency) this.host.permits.wait(this)
      return
    }
    this.overflowed++
    this.settle(job, "overflowed", new Overflow({ subscription: this.info.name, capacity: this.info.mailbox }), false)
  }

  /** A filter that threw: the delivery fails as if the handler had died. */
  failFilter(job: Job, defect: unknown): void {
    this.total++
    this.failed++
    this.settle(job, "failed", new HandlerError({ subscription: this.info.name, cause: Cause.die(defect) }), false)
  }

  pump(): void {
    while (!this.stopped && this.running < this.info.concurrency && this.mailbox.length > 0) {
      if (!this.host.permits.tryTake()) return this.host.permits.wait(this)
      this.start(this.mailbox.shift()!)
    }
  }

  private start(job: Job): void {
    this.running++
    const envelope = job.envelope
    const fiber = Effect.runForkWith(this.context)(
      this.deliver === undefined ? this.handler(envelope) : this.deliver({ envelope, subscription: this.info })
    )
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) return this.finish(job, exit, false)
    this.fibers.add(fiber)
    let timedOut = false
    // With middleware, `invoke` applies the timeout inside the chain, once per attempt.
    const timer =
      this.deliver === undefined
        ? Effect.runForkWith(this.context)(
            Effect.sleep(this.info.timeout).pipe(
              Effect.andThen(
                Effect.sync(() => {
                  timedOut = true
                  fiber.interruptUnsafe()
                })
              )
            )
          )
        : undefined
    fiber.addObserver((exit) => {
      this.fibers.delete(fiber)
      timer?.interruptUnsafe()
      this.finish(job, exit, timedOut)
      this.pump()
    })
  }

  private finish(job: Job, exit: Exit.Exit<unknown, unknown>, timedOut: boolean): void {
    this.running--
    this.host.permits.release()
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
      const error = new HandlerTimeout({ subscription: this.info.name, timeout: this.info.timeout })
      return this.settle(job, "timedOut", error, false)
    }
    const found = Cause.findError(cause)
    let error: unknown = Result.isSuccess(found) ? found.success : undefined
    let deadLettered = false
    if (error instanceof DeadLettered) {
      deadLettered = true
      this.deadLettered++
      error = error.error
    }
    const typed =
      error !== undefined && deliveryTags.has((error as { _tag?: string })._tag ?? "")
        ? (error as DeliveryError)
        : new HandlerError({ subscription: this.info.name, cause })
    const status = statusOf[typed._tag]
    this[status]++
    this.settle(job, status, typed, deadLettered)
  }

  private settle(job: Job, status: Status, error: DeliveryError | undefined, deadLettered: boolean): void {
    this.host.settled(this, job, status, error, deadLettered)
    if (this.idleWaiters.length > 0 && this.running === 0 && this.mailbox.length === 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const resume of waiters) resume()
    }
  }

  /** Waits until the mailbox is empty and nothing runs. */
  readonly idle: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.running === 0 && this.mailbox.length === 0) return resume(Effect.void)
    const waiter = () => resume(Effect.void)
    this.idleWaiters.push(waiter)
    return Effect.sync(() => {
      this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter)
    })
  })

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
      deadLettered: this.deadLettered,
      queued: this.mailbox.length,
      inFlight: this.running
    }
  }
}
