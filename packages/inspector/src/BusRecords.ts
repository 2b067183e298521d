/**
 * The bus's own records (`system.bus_stopping`, `system.bus_stopped`) reach
 * no subscription: the bus writes them to its log and hands them to plugins'
 * `record` hooks, never through a lane (a full lane cannot hold up the record
 * of the stop). `plugin()` is such a hook; it passes each record to whoever
 * listens on `BusRecords`: the inspector lists them with the other system
 * events.
 *
 * The inspector sees a stop only if it outlives it: a bus stops when its
 * layer's scope closes, and an inspector built over that bus in the same
 * layer graph closes first. It shows the stop when the bus lives in a scope
 * of its own, handed to the inspector with `Layer.succeedContext`.
 *
 * @example
 * ```ts
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Layer } from "effect"
 * import { BusRecords, Inspector } from "@eventfabric/inspector"
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(BusRecords.plugin())),
 *   Layer.provideMerge(BusRecords.layer)
 * )
 * const Live = Inspector.Inspector.layer().pipe(Layer.provideMerge(Bus))
 * ```
 * @since 0.1.0
 */
import { type Envelope, Plugin } from "@eventfabric/core"
import { Context, Effect, Layer, type Scope } from "effect"

/**
 * Listeners for the bus's records.
 *
 * @since 0.1.0
 */
export interface Listeners {
  /** Calls `f` with each record until the current scope closes. */
  readonly listen: (f: (envelope: Envelope.Envelope) => void) => Effect.Effect<void, never, Scope.Scope>
  readonly emit: (envelope: Envelope.Envelope) => void
}

/**
 * Makes an empty set of listeners.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Listeners => {
  const listeners = new Set<(envelope: Envelope.Envelope) => void>()
  return {
    listen: (f) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          // A fresh function per listen, so one `f` listening twice is removed once per scope.
          const g = (envelope: Envelope.Envelope) => f(envelope)
          listeners.add(g)
          return g
        }),
        (g) => Effect.sync(() => listeners.delete(g))
      ).pipe(Effect.asVoid),
    emit: (envelope) => {
      for (const f of listeners) f(envelope)
    }
  }
}

/**
 * The service the plugin hands records to and the inspector listens on.
 *
 * @since 0.1.0
 * @category services
 */
export class BusRecords extends Context.Service<BusRecords, Listeners>()("@eventfabric/inspector/BusRecords") {
  static readonly layer: Layer.Layer<BusRecords> = Layer.sync(BusRecords, make)
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<BusRecords> = BusRecords.layer

/**
 * The `record` hook: each record the bus writes goes to `BusRecords`'s listeners.
 *
 * @since 0.1.0
 * @category plugins
 */
export const plugin = (): Plugin.Plugin<never, BusRecords> =>
  Plugin.make(
    "inspector-bus-records",
    Effect.gen(function* () {
      const records = yield* BusRecords
      const hooks: Plugin.Hooks = { record: (envelope) => Effect.sync(() => records.emit(envelope)) }
      return () => Effect.succeed(hooks)
    })
  )
