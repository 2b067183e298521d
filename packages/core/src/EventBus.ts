/**
 * The `EventBus` service: publish typed events on prioritised, bounded lanes;
 * subscribe handlers that run isolated, under a global concurrency limit.
 *
 * @since 0.1.0
 */
import { Config, Context, type Duration, Effect, Layer, type Scope, type Stream } from "effect"
import type { Outcome } from "./Delivery.ts"
import type { Envelope } from "./Envelope.ts"
import type { InvalidOptions, PublishError } from "./Errors.ts"
import type { Definition, Payload } from "./Event.ts"
import * as internal from "./internal/bus.ts"
import type { Receipt } from "./Middleware.ts"
import * as Options from "./Options.ts"
import { type NoSubscription, Plugins, type PublishOptions } from "./Plugin.ts"
import type * as Selector from "./Selector.ts"
import type { Stats, SubscriptionStats } from "./Stats.ts"

/**
 * Options of `subscribe`:
 *
 * - `name`: unique among live subscriptions; default derived from the selector.
 * - `concurrency`: deliveries running at once (default 1: lane order kept).
 * - `orderBy`: with `concurrency > 1`, events with one key are handled in
 *   publish order, different keys in parallel. A key function that throws
 *   fails that delivery (`HandlerError`, counted `failed`).
 * - `timeout`: per delivery (default: the bus's, 30 s).
 * - `mailbox`: a capacity per lane (default: the bus's, 1024), or
 *   `{ capacity, strategy }`. The default strategy is the delivery's lane's:
 *   on a `suspend` lane a full mailbox holds that lane, so its publishers wait.
 *   `dropping` / `sliding` / `fail` trade that for isolation from a slow
 *   subscriber, each refused delivery counted `overflowed`.
 * - `filter`: only envelopes for which it returns true are delivered.
 *
 * @since 0.1.0
 */
export interface SubscribeOptions<A = unknown> {
  readonly name?: string | undefined
  readonly concurrency?: number | undefined
  readonly timeout?: Duration.Input | undefined
  readonly mailbox?:
    | number
    | { readonly capacity?: number | undefined; readonly strategy?: Options.Strategy | undefined }
    | undefined
  readonly filter?: ((envelope: A) => boolean) | undefined
  readonly orderBy?: ((envelope: A) => string | number) | undefined
}

/**
 * A live subscription. Closing the scope it was made in unsubscribes: no new
 * deliveries, the ones in flight or in the mailbox get the shutdown grace,
 * then are interrupted and counted.
 *
 * @since 0.1.0
 */
export interface Subscription {
  readonly name: string
  readonly stats: Effect.Effect<SubscriptionStats>
  /** Re-tunes the subscription while it runs. */
  readonly configure: (options: { readonly concurrency?: number | undefined }) => Effect.Effect<void, InvalidOptions>
  /**
   * What is left of the shutdown grace of the scope this subscription lives
   * in. Every wait of one closing scope shares one grace (the window opens at
   * the first read), so a finalizer that flushes (Batching) stays within it.
   */
  readonly graceLeft: Effect.Effect<Duration.Duration>
}

/**
 * What `publishAndWait` answers: the event's end and every delivery's outcome.
 *
 * - `delivered`: dispatched, and every delivery reached a terminal state
 *   (none, when nothing subscribed).
 * - `dropped` / `deduplicated`: refused at admission.
 * - `evicted`: pushed out of a full `sliding` lane before dispatch.
 * - `interrupted`: still queued when shutdown's grace ran out.
 *
 * @since 0.1.0
 */
export interface PublishResult {
  readonly id: string
  readonly type: string
  readonly status: "delivered" | "dropped" | "deduplicated" | "evicted" | "interrupted"
  readonly deliveries: ReadonlyArray<Outcome>
  readonly succeeded: number
  readonly failed: number
}

/**
 * The envelope type a selector delivers.
 *
 * @since 0.1.0
 */
export type EnvelopeOf<S extends Selector.Selector> = Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>

/**
 * The event bus.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event, EventBus } from "@eventfabric/core"
 *
 * const OrderPlaced = Event.define("orders.placed", {
 *   payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
 * })
 *
 * const program = Effect.gen(function*() {
 *   const bus = yield* EventBus.EventBus
 *   yield* bus.subscribe(OrderPlaced, (e) => Effect.log(`placed ${e.payload.orderId}`), { name: "log" })
 *   yield* bus.publish(OrderPlaced, { orderId: "o-1", total: 42 })
 *   yield* bus.drain
 * }).pipe(Effect.scoped, Effect.provide(EventBus.layer()))
 * ```
 * @since 0.1.0
 */
export class EventBus extends Context.Service<
  EventBus,
  {
    /** Enqueues an event; `accepted`, `dropped` or `deduplicated`. */
    readonly publish: <D extends Definition>(
      definition: D,
      payload: Payload<D>,
      options?: PublishOptions
    ) => Effect.Effect<Receipt, PublishError>
    /**
     * Publishes a batch of events of one definition, in order: one clock
     * read for the batch, one receipt per payload. On a `suspend` lane it
     * waits for room as `publish` does.
     */
    readonly publishAll: <D extends Definition>(
      definition: D,
      payloads: Iterable<Payload<D>>,
      options?: PublishOptions
    ) => Effect.Effect<ReadonlyArray<Receipt>, PublishError>
    /** Publishes, then waits until every delivery of the event has ended. */
    readonly publishAndWait: <D extends Definition>(
      definition: D,
      payload: Payload<D>,
      options?: PublishOptions
    ) => Effect.Effect<PublishResult, PublishError>
    /** Runs `handler` for each matching event while the current scope lives. */
    readonly subscribe: <S extends Selector.Selector, E, R>(
      selector: S,
      handler: (envelope: EnvelopeOf<S>) => Effect.Effect<unknown, E, R>,
      options?: SubscribeOptions<EnvelopeOf<S>>
    ) => Effect.Effect<Subscription, InvalidOptions, R | Scope.Scope>
    /** Matching events as a Stream, through a bounded buffer (`capacity`). */
    readonly events: <S extends Selector.Selector>(
      selector: S,
      options?: { readonly name?: string; readonly capacity?: number }
    ) => Stream.Stream<EnvelopeOf<S>, InvalidOptions>
    /** Delivers one envelope to one subscription (the DLQ's retry). */
    readonly redeliver: (
      subscription: string,
      envelope: Envelope
    ) => Effect.Effect<Outcome, PublishError | NoSubscription>
    /** A snapshot of the counters. */
    readonly stats: Effect.Effect<Stats>
    /** Waits until lanes and mailboxes are empty and no handler runs. */
    readonly drain: Effect.Effect<void>
    /** Re-tunes the bus while it runs. */
    readonly configure: (options: {
      readonly maxConcurrentHandlers?: number | undefined
    }) => Effect.Effect<void, InvalidOptions>
  }
>()("@eventfabric/core/EventBus") {
  /**
   * The bus as a layer. Options are decoded by Schema; a bad value fails the
   * layer with `InvalidOptions` naming the path. Plugins come from
   * `Plugin.layer(...)`, provided to this layer.
   *
   * @example
   * ```ts
   * import { EventBus } from "@eventfabric/core"
   * const Bus = EventBus.layer({ lanes: { low: { capacity: 10_000, strategy: "sliding" } } })
   * ```
   */
  static readonly layer = (options?: Options.BusOptions): Layer.Layer<EventBus, InvalidOptions> =>
    Layer.effect(
      EventBus,
      Effect.gen(function* () {
        const decoded = yield* Options.decode(Options.BusOptions, "EventBus", options)
        const installed = yield* Plugins
        return EventBus.of(yield* internal.make(Options.resolve(decoded), installed))
      })
    )

  /**
   * The same options read from `Config` under `EVENTFABRIC_…` (with a
   * constant-case provider): `EVENTFABRIC_MAX_CONCURRENT_HANDLERS`,
   * `EVENTFABRIC_LANES_LOW_CAPACITY`, `EVENTFABRIC_TIMEOUT` ("30 seconds"), …
   *
   * @example
   * ```ts
   * import { ConfigProvider, Layer } from "effect"
   * import { EventBus } from "@eventfabric/core"
   * const Bus = EventBus.layerConfig.pipe(
   *   Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv().pipe(ConfigProvider.constantCase)))
   * )
   * ```
   */
  static readonly layerConfig: Layer.Layer<EventBus, InvalidOptions | Config.ConfigError> = Layer.unwrap(
    Effect.map(Config.schema(Options.BusConfig, "eventfabric"), (options) => EventBus.layer(options))
  )
}
