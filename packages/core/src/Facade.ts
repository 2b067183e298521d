/**
 * A Promise facade for code outside Effect: plain functions, callbacks,
 * `async` request handlers, framework hooks.
 *
 * The bus is built from a `Layer` through a `ManagedRuntime`; the facade then
 * holds the built `EventBus` and runs its effects directly, so no call needs a
 * running fiber, an event loop turn or an `await`:
 *
 * - `emit` is fire-and-forget and never throws. An event the bus does not
 *   take (a full `dropping` lane, a full `fail` lane, a closed bus, an invalid
 *   payload, a plugin defect) is reported to `onError` and counted.
 * - `emitAndWait` answers a Promise of every delivery's outcome.
 * - `on` / `once` / `off` subscribe Promise-returning handlers.
 * - `close` drains, then releases the layer; later emits are refused with a
 *   typed `BusClosedError` that the bus counts in `refused`.
 *
 * Order: emits of one facade reach the bus in call order. While a `suspend`
 * lane is full, later emits wait in the facade's bounded buffer (`maxPending`)
 * behind the one that waits for room, instead of overtaking it; past that
 * bound an emit is refused with `EmitOverflow` (counted in
 * `stats().facade.overflowed`).
 *
 * @since 0.1.0
 */
import { Cause, Context, Duration, Effect, Exit, type Fiber, type Layer, ManagedRuntime, Schema, Scope } from "effect"
import type { DeliveryError } from "./Delivery.ts"
import type { Envelope } from "./Envelope.ts"
import { InvalidOptions, type PublishError } from "./Errors.ts"
import { type Definition, type Payload, Priority } from "./Event.ts"
import { type EnvelopeOf, EventBus, type PublishResult, type SubscribeOptions } from "./EventBus.ts"
import type { Receipt } from "./Middleware.ts"
import * as Options from "./Options.ts"
import type { PublishOptions } from "./Plugin.ts"
import * as Selector from "./Selector.ts"
import type { Stats } from "./Stats.ts"

/**
 * A full `dropping` lane refused an emitted event. The bus counted it
 * `dropped` on that lane.
 *
 * @example
 * ```ts
 * import { Facade } from "@eventfabric/core"
 * new Facade.EventDropped({ type: "telemetry.tick", lane: "low", id: "0190..." }).message
 * ```
 * @since 0.1.0
 */
export class EventDropped extends Schema.TaggedError<EventDropped>()("EventDropped", {
  type: Schema.String,
  lane: Priority,
  id: Schema.String
}) {
  override get message() {
    return `lane ${this.lane} is full; ${this.type} dropped`
  }
}

/**
 * The facade's buffer of emits waiting behind a full `suspend` lane was full
 * (`maxPending`): the event never reached the bus. Counted in
 * `stats().facade.overflowed`.
 *
 * @example
 * ```ts
 * import { Facade } from "@eventfabric/core"
 * new Facade.EmitOverflow({ type: "orders.placed", capacity: 10_000 }).message
 * ```
 * @since 0.1.0
 */
export class EmitOverflow extends Schema.TaggedError<EmitOverflow>()("EmitOverflow", {
  type: Schema.String,
  capacity: Schema.Number
}) {
  override get message() {
    return `${this.capacity} emits already wait for lane space; ${this.type} not emitted`
  }
}

/**
 * Publishing died (a defect in a plugin, not a typed error). `message` is the
 * rendered Cause.
 *
 * @example
 * ```ts
 * import { Facade } from "@eventfabric/core"
 * new Facade.EmitDefect({ type: "orders.placed", message: "Error: boom" })
 * ```
 * @since 0.1.0
 */
export class EmitDefect extends Schema.TaggedError<EmitDefect>()("EmitDefect", {
  type: Schema.String,
  message: Schema.String
}) {}

/**
 * Everything `emit` reports to `onError` (and `emitAndWait` rejects with):
 * the bus's `BackpressureError`, `BusClosedError` and `InvalidEvent`, plus
 * `EventDropped`, `EmitOverflow` and `EmitDefect`.
 *
 * @example
 * ```ts
 * import type { Facade } from "@eventfabric/core"
 * const onError = (error: Facade.EmitError) => {
 *   if (error._tag === "BusClosedError") return // shutting down
 *   console.error(error.message)
 * }
 * ```
 * @since 0.1.0
 */
export type EmitError = PublishError | EventDropped | EmitOverflow | EmitDefect

/**
 * What `emitAndWait` resolves to: the bus's `PublishResult` (status, every
 * delivery's outcome, `succeeded`, `failed`) plus the failed deliveries'
 * errors. A `dropped` or `deduplicated` event resolves with that status and no
 * deliveries.
 *
 * @since 0.1.0
 */
export interface EmitResult extends PublishResult {
  readonly errors: ReadonlyArray<DeliveryError>
}

/**
 * A handler: called with the envelope and, when it declares a second
 * parameter, an `AbortSignal` that aborts when the delivery is interrupted
 * (timeout, shutdown grace exceeded). A throw or a rejected Promise fails the
 * delivery (`HandlerError`: counted, reported, dead-lettered with the DLQ
 * plugin).
 *
 * @since 0.1.0
 */
export type Handler<E> = (envelope: E, signal: AbortSignal) => void | PromiseLike<void>

/**
 * What `on` subscribes to: a definition, several, a `Selector.pattern`, or a
 * pattern string such as `"orders.*"`.
 *
 * @since 0.1.0
 */
export type Target = Selector.Selector | string

/**
 * The envelope type a target delivers.
 *
 * @since 0.1.0
 */
export type EnvelopeOfTarget<T> = T extends string
  ? Envelope<unknown, string>
  : T extends Selector.Selector
    ? EnvelopeOf<T>
    : never

/**
 * Returned by `on` and `once`: call it to unsubscribe. The Promise resolves
 * once deliveries in flight have finished (or the bus's `shutdownGrace` ran
 * out). Called while one of the subscription's own handlers runs (`await
 * off()` inside the handler), it resolves as soon as no new event is routed
 * to it, so that the handler does not wait for itself; the deliveries in
 * flight still finish and are counted. Calling it again is harmless.
 *
 * @since 0.1.0
 */
export interface Unsubscribe {
  (): Promise<void>
  /** The subscription's name (stats and the DLQ refer to it). */
  readonly subscription: string
}

/**
 * The facade's own counters, next to the bus's.
 *
 * - `emitted`: calls to `emit` and `emitAndWait`.
 * - `pending`: emits waiting in the facade's buffer for a full lane, or for
 *   the bus to stop after `close()` began.
 * - `overflowed`: emits refused because that buffer was full (`EmitOverflow`).
 * - `errors`: failures reported to `onError` or by a rejected `emitAndWait`.
 *
 * Every other end of an emit is counted by the bus: `published` (then
 * rejected / deduplicated / dropped / accepted) or `refused` (closed). With
 * no other publisher and no failing handler (whose `system.handler_error`
 * events the bus publishes itself), at rest:
 * `emitted = published + refused + overflowed + pending`.
 *
 * @since 0.1.0
 */
export interface FacadeCounters {
  readonly emitted: number
  readonly pending: number
  readonly overflowed: number
  readonly errors: number
}

/**
 * The bus's `Stats` plus the facade's counters.
 *
 * @since 0.1.0
 */
export interface FacadeStats extends Stats {
  readonly facade: FacadeCounters
}

/**
 * Options of `make`.
 *
 * - `onError`: told of every event `emit` could not hand to its subscribers
 *   (see `EmitError`). Default: a warning through the runtime's logger. It is
 *   called outside the caller's stack frame only when the bus answers
 *   asynchronously; a throw from it is swallowed (still counted).
 * - `maxPending`: emits that may wait behind a full `suspend` lane (default
 *   10 000).
 * - `closeTimeout`: how long `close()` lets those waiting emits reach the bus
 *   before it shuts the bus down (default 5 seconds; the bus's own
 *   `shutdownGrace` then bounds the drain).
 * - `memoMap`: share layer memoisation with other runtimes.
 *
 * @example
 * ```ts
 * import { EventBus, Facade } from "@eventfabric/core"
 *
 * const options: Facade.FacadeOptions = {
 *   onError: (error) => console.warn(`${error._tag}: ${error.message}`),
 *   maxPending: 1_000,
 *   closeTimeout: "2 seconds"
 * }
 * const bus = await Facade.make(EventBus.EventBus.layer(), options)
 * ```
 * @since 0.1.0
 */
export interface FacadeOptions {
  readonly onError?: ((error: EmitError) => void) | undefined
  readonly maxPending?: number | undefined
  readonly closeTimeout?: Duration.Input | undefined
  readonly memoMap?: Layer.MemoMap | undefined
}

const FacadeConfig = Schema.Struct({
  maxPending: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  closeTimeout: Schema.optional(Options.DurationInput)
})

/**
 * The facade.
 *
 * @example
 * ```ts
 * import { EventBus, Facade } from "@eventfabric/core"
 *
 * const bus: Facade.Facade = await Facade.make(EventBus.EventBus.layer())
 * const off = bus.on("orders.*", (e) => console.log(e.type))
 * console.log(bus.stats().published)
 * await off()
 * await bus.close()
 * ```
 * @since 0.1.0
 */
export interface Facade<R = EventBus> {
  /**
   * Publishes without waiting and without throwing, from any context: plain
   * synchronous code, timers, `async` functions, handlers. Refusals go to
   * `onError` and are counted.
   */
  readonly emit: <D extends Definition>(definition: D, payload: Payload<D>, options?: PublishOptions) => void
  /**
   * Publishes, then resolves once every delivery of the event has ended.
   * Rejects with an `EmitError` when the bus does not take the event.
   */
  readonly emitAndWait: <D extends Definition>(
    definition: D,
    payload: Payload<D>,
    options?: PublishOptions
  ) => Promise<EmitResult>
  /**
   * Subscribes a handler until the returned function is called (or `off`).
   * Throws `InvalidOptions` at once on a bad option, a name in use, or a
   * closed facade; a bad pattern string throws a `TypeError`.
   */
  readonly on: <T extends Target>(
    target: T,
    handler: Handler<EnvelopeOfTarget<T>>,
    options?: SubscribeOptions<EnvelopeOfTarget<T>>
  ) => Unsubscribe
  /** Like `on`, for the first matching event only; then unsubscribes. */
  readonly once: <T extends Target>(
    target: T,
    handler: Handler<EnvelopeOfTarget<T>>,
    options?: SubscribeOptions<EnvelopeOfTarget<T>>
  ) => Unsubscribe
  /**
   * Unsubscribes by subscription name, by the function `on` returned, or by
   * handler (every subscription made with it).
   */
  readonly off: (target: string | Unsubscribe | Handler<any>) => Promise<void>
  /** A snapshot of the bus's counters and the facade's. Works after `close`. */
  readonly stats: () => FacadeStats
  /** Resolves once waiting emits reached the bus and the bus is idle. */
  readonly drain: () => Promise<void>
  /**
   * Stops intake, lets waiting emits reach the bus, drains it (within its
   * `shutdownGrace`), then releases the layer. Idempotent.
   */
  readonly close: () => Promise<void>
  /** True once `close` was called. */
  readonly isClosed: () => boolean
  /** The runtime, to run other effects against the same services (until `close`). */
  readonly runtime: ManagedRuntime.ManagedRuntime<R, never>
}

interface Waiter {
  readonly resolve: (result: EmitResult) => void
  readonly reject: (error: EmitError) => void
}

interface Pending {
  readonly definition: Definition
  readonly payload: unknown
  readonly options: PublishOptions | undefined
  readonly waiter: Waiter | undefined
}

interface Entry {
  readonly name: string
  readonly handler: Handler<any>
  readonly unsubscribe: Unsubscribe
}

/** A FIFO that grows up to the caller's bound and compacts as it drains. */
class Fifo<A> {
  private items: Array<A> = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(item: A): void {
    this.items.push(item)
  }

  shift(): A | undefined {
    if (this.head === this.items.length) return undefined
    const item = this.items[this.head]!
    this.items[this.head++] = undefined as A
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }
}

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as { then?: unknown }).then === "function"

const toEffect =
  (handler: Handler<any>) =>
  (envelope: unknown): Effect.Effect<void, unknown> =>
    Effect.suspend(() => {
      // Only handlers that declare the signal pay for an AbortController.
      const controller = handler.length >= 2 ? new AbortController() : undefined
      let result: void | PromiseLike<void>
      try {
        result = handler(envelope, controller?.signal as AbortSignal)
      } catch (error) {
        return Effect.fail(error)
      }
      if (!isThenable(result)) return Effect.void
      const promise = result
      return Effect.callback<void, unknown>((resume) => {
        // `resume` runs the delivery's continuation inline: anything it threw
        // would reject the Promise that `then` returns, unhandled, and end
        // the process. The delivery is settled by then; the throw is a bus
        // defect, logged instead.
        const safely = (effect: Effect.Effect<void, unknown>) => {
          try {
            resume(effect)
          } catch (defect) {
            Effect.runFork(Effect.logError("eventfabric: a delivery's continuation threw", defect))
          }
        }
        promise.then(
          () => safely(Effect.void),
          (error) => safely(Effect.fail(error))
        )
        return controller === undefined ? undefined : Effect.sync(() => controller.abort())
      })
    })

/** The event type for an error report; junk from untyped callers has none. */
const typeName = (definition: unknown): string => {
  const name = (definition as { name?: unknown } | null | undefined)?.name
  return typeof name === "string" ? name : "(unknown)"
}

const errorOf = (type: string, cause: Cause.Cause<PublishError>): EmitError => {
  for (const reason of cause.reasons) if (reason._tag === "Fail") return reason.error
  return new EmitDefect({ type, message: Cause.pretty(cause) })
}

/**
 * Builds the layer into a runtime and answers the facade once the bus is up.
 * A layer that fails to build (a bad option value, a missing Redis) rejects
 * the Promise with its typed error, and nothing is left running.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Event, EventBus, Facade } from "@eventfabric/core"
 *
 * const OrderPlaced = Event.define("orders.placed", {
 *   payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
 * })
 *
 * const bus = await Facade.make(EventBus.EventBus.layer(), {
 *   onError: (error) => console.error(error.message)
 * })
 * const off = bus.on(OrderPlaced, async (e) => {
 *   await sendMail(e.payload.orderId)
 * }, { name: "mailer" })
 *
 * bus.emit(OrderPlaced, { orderId: "o-1", total: 42 })        // fire-and-forget, never throws
 * const { succeeded, failed, errors } = await bus.emitAndWait(OrderPlaced, { orderId: "o-2", total: 7 })
 * await off()
 * await bus.close()
 * declare function sendMail(orderId: string): Promise<void>
 * ```
 * @since 0.1.0
 */
export const make = async <R, E>(
  layer: Layer.Layer<R | EventBus, E, never>,
  options?: FacadeOptions
): Promise<Facade<R | EventBus>> => {
  const config = Effect.runSyncExit(
    Options.decode(FacadeConfig, "Facade", {
      maxPending: options?.maxPending,
      closeTimeout: options?.closeTimeout
    })
  )
  if (Exit.isFailure(config)) throw Cause.squash(config.cause)
  const maxPending = config.value.maxPending ?? 10_000
  const closeTimeout = Duration.toMillis(config.value.closeTimeout ?? Duration.seconds(5))

  const runtime = ManagedRuntime.make(layer, { memoMap: options?.memoMap })
  const built = await runtime.runPromiseExit(runtime.contextEffect)
  if (Exit.isFailure(built)) {
    await runtime.dispose()
    throw Cause.squash(built.cause)
  }
  const context = built.value
  const bus = Context.get(context as Context.Context<EventBus>, EventBus)
  const fork = Effect.runForkWith(context)
  const runSync = Effect.runSyncWith(context)

  const outbox = new Fifo<Pending>()
  // Emits made after `close()` began, published (and refused by the bus,
  // which counts them) once it has stopped.
  let late: Array<Pending> = []
  let busy = false
  let closing = false
  let stopped = false
  let closed: Promise<void> | undefined
  let emptyWaiters: Array<() => void> = []
  let emitted = 0
  let overflowed = 0
  let errors = 0
  const entries = new Map<string, Entry>()

  const report = (error: EmitError, waiter: Waiter | undefined) => {
    errors++
    if (waiter !== undefined) return waiter.reject(error)
    if (options?.onError === undefined) {
      fork(Effect.logWarning(`eventfabric: emit of ${error.type} failed: ${error.message}`))
      return
    }
    try {
      options.onError(error)
    } catch {
      // onError must not turn an emit into a throw; the error is counted.
    }
  }

  const settle = (item: Pending, exit: Exit.Exit<Receipt, PublishError>) => {
    if (Exit.isFailure(exit)) return report(errorOf(typeName(item.definition), exit.cause), undefined)
    const receipt = exit.value
    if (receipt.status === "dropped") {
      report(new EventDropped({ type: receipt.type, lane: receipt.lane, id: receipt.id }), undefined)
    }
  }

  const startAndWait = (item: Pending, waiter: Waiter) => {
    const fiber: Fiber.Fiber<PublishResult, PublishError> = fork(
      bus.publishAndWait(item.definition, item.payload as never, item.options)
    )
    fiber.addObserver((exit) => {
      if (Exit.isFailure(exit)) return report(errorOf(typeName(item.definition), exit.cause), waiter)
      const errs: Array<DeliveryError> = []
      for (const d of exit.value.deliveries) if (d.error !== undefined) errs.push(d.error)
      waiter.resolve({ ...exit.value, errors: errs })
    })
  }

  const start = (item: Pending) => {
    if (item.waiter !== undefined) return startAndWait(item, item.waiter)
    const fiber = fork(bus.publish(item.definition, item.payload as never, item.options))
    const exit = fiber.pollUnsafe()
    if (exit !== undefined) return settle(item, exit)
    // Waiting for room in a `suspend` lane: later emits queue behind it.
    busy = true
    fiber.addObserver((exit) => {
      busy = false
      settle(item, exit)
      pump()
    })
  }

  const notifyEmpty = () => {
    if (busy || outbox.length > 0 || emptyWaiters.length === 0) return
    const waiters = emptyWaiters
    emptyWaiters = []
    for (const w of waiters) w()
  }

  const pump = () => {
    while (!busy) {
      const item = outbox.shift()
      if (item === undefined) break
      start(item)
    }
    notifyEmpty()
  }

  const outboxEmpty = () =>
    new Promise<void>((resolve) => {
      emptyWaiters.push(resolve)
      notifyEmpty()
    })

  const submit = (item: Pending) => {
    emitted++
    try {
      if (stopped) return start(item)
      if (closing) {
        if (late.length >= maxPending) {
          overflowed++
          return report(new EmitOverflow({ type: typeName(item.definition), capacity: maxPending }), item.waiter)
        }
        late.push(item)
        return
      }
      if (busy || outbox.length > 0) {
        if (outbox.length >= maxPending) {
          overflowed++
          return report(new EmitOverflow({ type: typeName(item.definition), capacity: maxPending }), item.waiter)
        }
        return outbox.push(item)
      }
      start(item)
    } catch (defect) {
      // Nothing above should throw; if it does, the emit still must not.
      report(new EmitDefect({ type: typeName(item.definition), message: String(defect) }), item.waiter)
    }
  }

  const emit = <D extends Definition>(definition: D, payload: Payload<D>, opts?: PublishOptions): void =>
    submit({ definition, payload, options: opts, waiter: undefined })

  const emitAndWait = <D extends Definition>(definition: D, payload: Payload<D>, opts?: PublishOptions) =>
    new Promise<EmitResult>((resolve, reject) =>
      submit({ definition, payload, options: opts, waiter: { resolve, reject } })
    )

  const subscribe = (
    target: Target,
    handler: Handler<any>,
    opts: SubscribeOptions<any> | undefined,
    once: boolean
  ): Unsubscribe => {
    if (closing) throw new InvalidOptions({ target: "subscribe", message: "the bus is closed" })
    const selector = typeof target === "string" ? Selector.pattern(target) : target
    const scope = Scope.makeUnsafe()
    let unsubscribe: Unsubscribe | undefined
    let run = toEffect(handler)
    let filter = opts?.filter
    if (once) {
      // Claimed at dispatch, so exactly one event is routed here.
      let claimed = false
      const inner = filter
      filter = (envelope) => {
        if (claimed || (inner !== undefined && !inner(envelope))) return false
        claimed = true
        return true
      }
      const body = run
      run = (envelope) =>
        Effect.ensuring(
          body(envelope),
          Effect.sync(() => void unsubscribe?.())
        )
    }
    // Handlers of this subscription running now: an unsubscribe made while
    // one runs (typically `await off()` inside the handler) must not wait for
    // it, or it waits for itself until the grace runs out.
    let running = 0
    const counted = run
    run = (envelope) =>
      Effect.suspend(() => {
        running++
        return Effect.ensuring(
          counted(envelope),
          Effect.sync(() => {
            running--
          })
        )
      })
    const exit = Effect.runSyncExitWith(context)(
      Scope.provide(bus.subscribe(selector, run, { ...opts, filter }), scope)
    )
    if (Exit.isFailure(exit)) {
      fork(Scope.close(scope, Exit.void))
      throw Cause.squash(exit.cause)
    }
    const name = exit.value.name
    let done: Promise<void> | undefined
    unsubscribe = Object.assign(
      () => {
        entries.delete(name)
        // Routing stops synchronously, inside this call; the rest (deliveries
        // in flight finishing, within the grace) is what `done` waits for.
        done ??= Effect.runPromiseWith(context)(Scope.close(scope, Exit.void))
        return running > 0 ? Promise.resolve() : done
      },
      { subscription: name }
    )
    entries.set(name, { name, handler, unsubscribe })
    return unsubscribe
  }

  const off = async (target: string | Unsubscribe | Handler<any>): Promise<void> => {
    const doomed = [...entries.values()].filter((e) =>
      typeof target === "string" ? e.name === target : e.unsubscribe === target || e.handler === target
    )
    await Promise.all(doomed.map((e) => e.unsubscribe()))
  }

  const stats = (): FacadeStats => ({
    ...runSync(bus.stats),
    facade: { emitted, pending: outbox.length + late.length, overflowed, errors }
  })

  const drain = async (): Promise<void> => {
    if (stopped) return
    await outboxEmpty()
    if (!stopped) await Effect.runPromiseWith(context)(bus.drain)
  }

  const close = (): Promise<void> =>
    (closed ??= (async () => {
      closing = true
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        outboxEmpty(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, closeTimeout)
        })
      ])
      clearTimeout(timer)
      await runtime.dispose()
      stopped = true
      // What could not reach the bus in time, and what came after close():
      // the stopped bus refuses each with a typed error and counts it.
      const leftovers = late
      late = []
      for (let item = outbox.shift(); item !== undefined; item = outbox.shift()) leftovers.push(item)
      for (const item of leftovers) start(item)
      notifyEmpty()
    })())

  return {
    emit,
    emitAndWait,
    on: (target, handler, opts) => subscribe(target, handler as Handler<any>, opts as SubscribeOptions<any>, false),
    once: (target, handler, opts) => subscribe(target, handler as Handler<any>, opts as SubscribeOptions<any>, true),
    off,
    stats,
    drain,
    close,
    isClosed: () => closing,
    runtime: runtime as ManagedRuntime.ManagedRuntime<R | EventBus, never>
  }
}
