/**
 * The in-process schedule of delayed publishes (`{ delay }` / `{ at }`).
 *
 * An event published with a delay is held here, not in a lane: it is counted
 * `published` (and runs admission middleware) only when it comes due, so the
 * lane accounting is untouched. One fiber per held event sleeps on the bus's
 * `Clock`, so `TestClock.adjust` releases it in tests; the number held is
 * bounded by `capacity` and every end is counted:
 * `total = released + cancelled + pending`, and a publish refused because the
 * schedule was full is counted `overflowed`.
 *
 * Shutdown rule: when the bus starts to shut down, every event still held is
 * cancelled and counted `cancelled`; a `publishAndWait` waiting on one fails
 * with `BusClosedError`. Releasing early would break the promise "not before
 * its time", and waiting for them would stretch shutdown past its one grace.
 * Durable delays belong to a transport's store (e.g. a Redis sorted set).
 */
import { Clock, type Context, Deferred, Duration, Effect, Fiber, Option } from "effect"
import { makeId } from "../Envelope.ts"
import { BusClosedError, InvalidEvent, type PublishError, ScheduleFullError } from "../Errors.ts"
import type { Definition } from "../Event.ts"
import type { PublishResult } from "../EventBus.ts"
import type { Receipt } from "../Middleware.ts"
import type { PublishOptions } from "../Plugin.ts"
import type { ScheduleStats } from "../Stats.ts"

/** The bus's own publish, called when a held event comes due. */
export type Publish = (
  definition: Definition,
  payload: unknown,
  options: PublishOptions
) => Effect.Effect<Receipt, PublishError>
export type PublishAndWait = (
  definition: Definition,
  payload: unknown,
  options: PublishOptions
) => Effect.Effect<PublishResult, PublishError>

/** True when the options ask for a delayed publish; the one check a bus without delays pays. */
export const isDelayed = (options: PublishOptions | undefined): boolean =>
  options !== undefined && (options.delay !== undefined || options.at !== undefined)

export class DelaySchedule {
  private pending = 0
  private total = 0
  private released = 0
  private cancelled = 0
  private overflowed = 0
  private closed = false
  // Held events' fibers; `true` once released (then no longer cancellable).
  private readonly fibers = new Map<Fiber.Fiber<unknown, unknown>, { due: boolean }>()
  private readonly capacity: number
  private readonly context: Context.Context<never>
  private readonly rejected: (type: string) => void

  /** `rejected` counts, on the bus, a publish refused for a bad `delay` / `at` (junk is counted like any refusal). */
  constructor(capacity: number, context: Context.Context<never>, rejected: (type: string) => void) {
    this.capacity = capacity
    this.context = context
    this.rejected = rejected
  }

  /** Holds the event until it is due; answers a `scheduled` receipt. */
  publish(
    definition: Definition,
    payload: unknown,
    options: PublishOptions,
    publishNow: Publish
  ): Effect.Effect<Receipt, PublishError> {
    return Effect.flatMap(this.admit(definition, options), ([id, wait, rest]) => {
      this.hold(wait, definition.name, released(publishNow(definition, payload, rest)), undefined)
      return Effect.succeed({
        id,
        type: definition.name,
        lane: rest.priority ?? definition.priority,
        status: "scheduled"
      })
    })
  }

  /** Holds the event, then waits for its deliveries once it was released. */
  publishAndWait(
    definition: Definition,
    payload: unknown,
    options: PublishOptions,
    publishAndWaitNow: PublishAndWait
  ): Effect.Effect<PublishResult, PublishError> {
    return Effect.flatMap(this.admit(definition, options), ([, wait, rest]) => {
      const deferred = Deferred.makeUnsafe<PublishResult, PublishError>()
      this.hold(
        wait,
        definition.name,
        Effect.flatMap(Effect.exit(publishAndWaitNow(definition, payload, rest)), (exit) =>
          Deferred.done(deferred, exit)
        ),
        deferred
      )
      return Deferred.await(deferred)
    })
  }

  /**
   * Cancels every held event (shutdown). Idempotent. Released ones are not
   * awaited: one may wait for room in a full `suspend` lane, which the bus's
   * own shutdown answers (refused, counted) — awaiting it here could deadlock.
   */
  cancelAll(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closed = true
      const held: Array<Fiber.Fiber<unknown, unknown>> = []
      for (const [fiber, state] of this.fibers) if (!state.due) held.push(fiber)
      return Fiber.interruptAll(held)
    })
  }

  stats(): ScheduleStats {
    return {
      capacity: this.capacity,
      pending: this.pending,
      total: this.total,
      released: this.released,
      cancelled: this.cancelled,
      overflowed: this.overflowed
    }
  }

  private admit(
    definition: Definition,
    options: PublishOptions
  ): Effect.Effect<readonly [string, number, PublishOptions], PublishError> {
    return Effect.flatMap(
      Clock.currentTimeMillis,
      (now): Effect.Effect<readonly [string, number, PublishOptions], PublishError> => {
        if (this.closed) return Effect.fail(new BusClosedError({ type: definition.name }))
        const { delay, at, ...rest } = options
        const wait = waitOf(now, delay, at)
        if (wait === undefined) {
          this.rejected(definition.name)
          return Effect.fail(
            new InvalidEvent({
              type: definition.name,
              message: "Expected `delay` to be a duration and `at` a valid Date or epoch milliseconds"
            })
          )
        }
        if (this.pending >= this.capacity) {
          this.overflowed++
          return Effect.fail(new ScheduleFullError({ type: definition.name, capacity: this.capacity }))
        }
        // The id is minted now, so the receipt names the event that will be released.
        const id = rest.id ?? makeId(now)
        return Effect.succeed([id, wait, { ...rest, id }] as const)
      }
    )
  }

  private hold(
    wait: number,
    type: string,
    release: Effect.Effect<void>,
    waiter: Deferred.Deferred<PublishResult, PublishError> | undefined
  ) {
    this.pending++
    this.total++
    const state = { due: false }
    let fiber: Fiber.Fiber<unknown, unknown> | undefined
    const body = Effect.sleep(wait).pipe(
      Effect.andThen(
        Effect.uninterruptible(
          Effect.suspend(() => {
            // Released: from here on the bus counts it like any publish.
            state.due = true
            this.pending--
            this.released++
            return release
          })
        )
      ),
      Effect.onInterrupt(() =>
        Effect.suspend(() => {
          if (state.due) return Effect.void
          this.pending--
          this.cancelled++
          return waiter === undefined ? Effect.void : Deferred.fail(waiter, new BusClosedError({ type }))
        })
      ),
      Effect.ensuring(
        Effect.sync(() => {
          if (fiber !== undefined) this.fibers.delete(fiber)
        })
      )
    )
    const forked: Fiber.Fiber<unknown, unknown> = Effect.runForkWith(this.context)(body)
    fiber = forked
    if (forked.pollUnsafe() === undefined) this.fibers.set(forked, state)
  }
}

// A refusal at release (a full `fail` lane, an invalid payload) is counted by
// the bus like any publish; nobody waits on the receipt, so it is logged too.
const released = (publish: Effect.Effect<Receipt, PublishError>): Effect.Effect<void> =>
  Effect.catchCause(Effect.asVoid(publish), (cause) =>
    Effect.logWarning("eventfabric: scheduled publish refused", cause)
  )

/** Milliseconds to wait: the later of `delay` from now and `at`; undefined when either is not valid. */
const waitOf = (now: number, delay: Duration.Input | undefined, at: Date | number | undefined): number | undefined => {
  let wait = 0
  if (delay !== undefined) {
    const d = Duration.fromInput(delay)
    if (Option.isNone(d)) return undefined
    wait = Math.max(0, Duration.toMillis(d.value))
  }
  if (at !== undefined) {
    const t = typeof at === "number" ? at : at instanceof Date ? at.getTime() : Number.NaN
    if (!Number.isFinite(t)) return undefined
    wait = Math.max(wait, t - now)
  }
  return Number.isNaN(wait) ? undefined : wait
}
