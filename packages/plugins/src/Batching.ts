/**
 * Batching: delivers events of `batchable` definitions (LOW-priority
 * telemetry, say) to a batch handler as `Batch<A>`, a ReadonlyArray of
 * envelopes, when `size` events have gathered or `within` has passed since
 * the first of them, whichever comes first.
 *
 * Built on the bus rather than as middleware: `Batching.subscribe` is a
 * normal subscription whose handler only enqueues into a bounded buffer
 * (`capacity`); a fiber groups the buffer with `Stream.groupedWithin` and runs
 * the batch handler. When the buffer is full, the subscription's handler
 * waits, its mailbox fills, and further events overflow there (counted
 * `overflowed`, published as `system.handler_error`): every buffer is bounded.
 *
 * Nothing is lost on shutdown: closing the subscription's scope first waits
 * for the bus to dispatch what was already published, then unsubscribes (the
 * mailbox drains into the buffer), then ends the buffer, so the last, partial
 * batch is handed to the handler before the scope closes (each step bounded
 * by `flushTimeout`).
 *
 * A batch handler that fails is counted (`failed`) and logged with its cause;
 * wrap it in `Effect.retry` to retry batches.
 *
 * @since 0.1.0
 */
import type { Envelope } from "@eventfabric/core"
import { Errors, Event, EventBus, Options } from "@eventfabric/core"
import { Cause, Duration, Effect, Fiber, Queue, Schema, type Scope, Stream } from "effect"

/**
 * What a batch handler receives: one to `size` envelopes, in lane order.
 *
 * @since 0.1.0
 */
export type Batch<A, Name extends string = string> = ReadonlyArray<Envelope.Envelope<A, Name>>

/**
 * Options of `subscribe`, decoded by Schema:
 *
 * - `name`: the underlying subscription's name.
 * - `size`: the most envelopes in one batch (default 100).
 * - `within`: the longest a batch waits after its first envelope (default 50 ms).
 * - `capacity`: envelopes buffered awaiting a batch (default 10 × size).
 * - `mailbox`: the underlying subscription's mailbox (default: the bus's).
 * - `flushTimeout`: how long closing waits for the last batches (default 5 s).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Batching } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Batching.Config)({ size: 500, within: "100 millis" })
 * ```
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  name: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  size: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  within: Schema.optional(Options.DurationInput),
  capacity: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  mailbox: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  flushTimeout: Schema.optional(Options.DurationInput)
})

/**
 * The options as a caller writes them.
 *
 * @since 0.1.0
 */
export type BatchOptions = typeof Config.Encoded

/**
 * Counters of one batch subscription.
 *
 * @since 0.1.0
 */
export interface BatchStats {
  readonly batches: number
  readonly events: number
  /** Batches whose handler failed (logged with the cause). */
  readonly failed: number
  /** Envelopes in the buffer now. */
  readonly buffered: number
}

/**
 * A live batch subscription.
 *
 * @since 0.1.0
 */
export interface BatchSubscription {
  readonly name: string
  readonly stats: Effect.Effect<BatchStats>
}

/**
 * Subscribes a batch handler to a batchable definition while the current
 * scope lives. Fails with `InvalidOptions` for a bad option or a definition
 * not marked `batchable`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event, EventBus } from "@eventfabric/core"
 * import { Batching } from "@eventfabric/plugins"
 *
 * const Metric = Event.define("telemetry.metric", {
 *   payload: Schema.Struct({ name: Schema.String, value: Schema.Number }),
 *   priority: "low",
 *   batchable: true
 * })
 *
 * const program = Effect.gen(function*() {
 *   yield* Batching.subscribe(Metric, (batch) => Effect.log(`writing ${batch.length} points`), {
 *     size: 100,
 *     within: "50 millis"
 *   })
 * }).pipe(Effect.scoped, Effect.provide(EventBus.EventBus.layer()))
 * ```
 * @since 0.1.0
 */
export const subscribe = <D extends Event.Definition, E, R>(
  definition: D,
  handler: (batch: Batch<Event.Payload<D>, Event.Name<D>>) => Effect.Effect<unknown, E, R>,
  options?: BatchOptions
): Effect.Effect<BatchSubscription, Errors.InvalidOptions, EventBus.EventBus | Scope.Scope | R> =>
  Effect.gen(function* () {
    const decoded = yield* Options.decode(Config, "Batching.subscribe", options)
    if (!Event.isDefinition(definition)) {
      return yield* new Errors.InvalidOptions({
        target: "Batching.subscribe",
        message: `Expected an event definition made by Event.define, got ${definition === null ? "null" : typeof definition}\n  at ["definition"]`
      })
    }
    if (!definition.batchable) {
      return yield* new Errors.InvalidOptions({
        target: "Batching.subscribe",
        message: `${definition.name} is not batchable: define it with { batchable: true }`
      })
    }
    const size = decoded.size ?? 100
    const within = decoded.within ?? Duration.millis(50)
    const flushTimeout = decoded.flushTimeout ?? Duration.seconds(5)
    const bus = yield* EventBus.EventBus
    const queue = yield* Queue.bounded<Envelope.Envelope<Event.Payload<D>, Event.Name<D>>, Cause.Done>(
      decoded.capacity ?? size * 10
    )
    let batches = 0
    let events = 0
    let failed = 0

    const consumer = Stream.fromQueue(queue).pipe(
      Stream.groupedWithin(size, within),
      Stream.runForEach((batch) =>
        handler(batch).pipe(
          Effect.matchCauseEffect({
            onFailure: (cause) => {
              failed++
              return Effect.logError(`batch handler of ${definition.name} failed`, Cause.pretty(cause))
            },
            onSuccess: () =>
              Effect.sync(() => {
                batches++
                events += batch.length
              })
          })
        )
      )
    )
    // Finalizers run in reverse: unsubscribe (the mailbox drains into the
    // buffer), then end the buffer and wait for the last batch, then the
    // consumer's own interruption (a no-op by then).
    const fiber = yield* Effect.forkScoped(consumer, { startImmediately: true })
    // Each wait is bounded by flushTimeout and by what is left of the bus's
    // shutdown grace for this scope (one grace for every wait of the close).
    let graceLeft: Effect.Effect<Duration.Duration> = Effect.succeed(flushTimeout)
    const bounded = <A>(wait: Effect.Effect<A>) =>
      Effect.flatMap(graceLeft, (left) => Effect.timeoutOption(wait, Duration.min(left, flushTimeout)))
    yield* Effect.addFinalizer(() => Queue.end(queue).pipe(Effect.andThen(bounded(Fiber.await(fiber)))))
    const subscription = yield* bus.subscribe(definition, (envelope) => Queue.offer(queue, envelope as never), {
      name: decoded.name,
      mailbox: decoded.mailbox,
      timeout: Duration.infinity
    })
    graceLeft = subscription.graceLeft
    // Runs first: let events already published reach the buffer before the
    // subscription stops routing.
    yield* Effect.addFinalizer(() => bounded(bus.drain))
    return {
      name: subscription.name,
      stats: Effect.map(Queue.size(queue), (buffered) => ({ batches, events, failed, buffered }))
    }
  })
