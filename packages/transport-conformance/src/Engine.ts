/**
 * What an engine hands the conformance suite: how to build its `Transport`
 * for one test namespace, and how to put raw bytes where its consumers read
 * (to check poison handling).
 *
 * @since 0.1.0
 */
import { Event, EventBus } from "@eventfabric/core"
import { DeadLetterStore } from "@eventfabric/plugins"
import { Transport } from "@eventfabric/transport"
import { Effect, Layer, Schema, type Scope } from "effect"

/**
 * The options every case builds a node with. Engines map them onto their
 * own, with timings short enough for a test (redelivery within ~1 s).
 *
 * @since 0.1.0
 */
export interface NodeOptions {
  readonly definitions: ReadonlyArray<Event.Definition>
  readonly group?: string | undefined
  readonly consumer?: string | undefined
  readonly maxDeliveries?: number | undefined
}

/**
 * @since 0.1.0
 */
export interface Engine {
  readonly name: string
  /** Why the suite cannot run here (server missing), or undefined. */
  readonly skip?: string | undefined
  /** The engine's `Transport` for `namespace` (fresh per test; its streams/keys are the test's own). */
  readonly layer: (
    namespace: string,
    options: NodeOptions
  ) => Layer.Layer<Transport.Transport, unknown, DeadLetterStore.DeadLetterStore>
  /** Appends `text` as-is where consumers of `type` read. */
  readonly injectRaw: (namespace: string, type: string, text: string) => Effect.Effect<void, unknown>
  /** Deletes what the namespace left in the engine. */
  readonly cleanup: (namespace: string) => Effect.Effect<void>
}

/**
 * The events the suite publishes.
 *
 * @since 0.1.0
 */
export const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
})

/**
 * @since 0.1.0
 */
export const OrderShipped = Event.define("orders.shipped", {
  payload: Schema.Struct({ orderId: Schema.String })
})

/**
 * @since 0.1.0
 */
export const definitions = [OrderPlaced, OrderShipped]

/**
 * One "process": its own bus, in-memory DLQ and transport, subscribed by
 * `setup` before it starts consuming (when it has a group). Lives until the
 * enclosing scope closes.
 *
 * @since 0.1.0
 */
export const node = Effect.fnUntraced(function* <E>(
  engine: Engine,
  namespace: string,
  options: NodeOptions,
  setup: (bus: EventBus.EventBus["Service"]) => Effect.Effect<void, E, Scope.Scope>
) {
  const context = yield* Layer.build(
    Layer.mergeAll(EventBus.EventBus.layer(), engine.layer(namespace, options)).pipe(
      Layer.provideMerge(DeadLetterStore.layerMemory())
    )
  )
  return yield* Effect.gen(function* () {
    yield* setup(yield* EventBus.EventBus)
    const transport = yield* Transport.Transport
    if (options.group !== undefined) yield* transport.start
    return { transport, dlq: yield* DeadLetterStore.DeadLetterStore }
  }).pipe(Effect.provide(context))
})

/** Polls `condition` every 20 ms until it holds; bounded by the test's timeout. */
export const waitUntil = <E, R>(condition: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function* () {
    while (!(yield* condition)) yield* Effect.sleep("20 millis")
  })
