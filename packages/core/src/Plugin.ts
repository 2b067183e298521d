/**
 * Plugins: named, configured producers of middleware, composed as a layer.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Layer, type Scope } from "effect"
import type { Delivery, DeliveryError, Outcome } from "./Delivery.ts"
import type * as EnvelopeModule from "./Envelope.ts"
import type { Envelope } from "./Envelope.ts"
import type { PublishError } from "./Errors.ts"
import type { Definition, Payload } from "./Event.ts"
import type { DeliveryMiddleware, PublishMiddleware, Receipt } from "./Middleware.ts"
import type { Stats } from "./Stats.ts"

/**
 * Optional envelope fields a publisher may set (defined beside the envelope).
 *
 * @since 0.1.0
 */
export type PublishOptions = EnvelopeModule.PublishOptions

/**
 * The part of the bus a plugin may use once the bus is built: publish system
 * events, re-deliver dead letters, read stats. `publish` is the bus's own
 * `publish` (the same function), so it runs the whole admission chain.
 *
 * @since 0.1.0
 */
export interface BusHandle {
  readonly publish: <D extends Definition>(
    definition: D,
    payload: Payload<D>,
    options?: PublishOptions
  ) => Effect.Effect<Receipt, PublishError>
  /**
   * Delivers an envelope to one subscription only, bypassing lanes and
   * admission middleware (the DLQ's `retry`). Fails with `NoSubscription`
   * when no live subscription has that name.
   */
  readonly redeliver: (
    subscription: string,
    envelope: Envelope
  ) => Effect.Effect<Outcome, PublishError | NoSubscription>
  readonly stats: Effect.Effect<Stats>
}

/**
 * No live subscription has this name.
 *
 * @since 0.1.0
 */
export class NoSubscription extends Data.TaggedError("NoSubscription")<{ readonly subscription: string }> {
  override get message() {
    return `no live subscription named ${this.subscription}`
  }
}

/**
 * The middleware a plugin contributes, and work it does while the bus lives.
 *
 * @since 0.1.0
 */
export interface Hooks {
  readonly publish?: PublishMiddleware | undefined
  readonly delivery?: DeliveryMiddleware | undefined
  /**
   * Called for a delivery that never reached the middleware chain (its
   * mailbox was full). Answers the id of a dead-letter entry if it stored one:
   * the delivery is then counted dead-lettered as well as overflowed.
   */
  readonly undelivered?: ((delivery: Delivery, error: DeliveryError) => Effect.Effect<string | undefined>) | undefined
  /** Runs at shutdown once the bus has drained, before what is left is interrupted (a final flush). */
  readonly afterDrain?: Effect.Effect<void> | undefined
  /**
   * Told of records the bus writes itself, outside the publish path
   * (`system.bus_stopping`, `system.bus_stopped`), so they can never wait on a
   * lane. An audit sink writes them as it writes published events.
   */
  readonly record?: ((envelope: Envelope) => Effect.Effect<void>) | undefined
}

/**
 * A plugin, configured and built: given the bus, it installs its hooks. The
 * install runs in the bus's scope, so fibers it forks live as long as the bus
 * and its finalizers run before the bus drains (a batching plugin flushes there).
 *
 * @since 0.1.0
 */
export interface Installed {
  readonly name: string
  readonly install: (bus: BusHandle) => Effect.Effect<Hooks, never, Scope.Scope>
}

/**
 * A plugin: a name and an Effect that decodes its config and acquires what it
 * needs (a store, a clock), failing the layer on a bad config value.
 *
 * @since 0.1.0
 */
export interface Plugin<E = never, R = never> {
  readonly name: string
  readonly build: Effect.Effect<Installed, E, R>
}

/**
 * Makes a plugin.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Plugin } from "@eventfabric/core"
 *
 * const Logging = Plugin.make("logging", Effect.succeed(() =>
 *   Effect.succeed({
 *     publish: (next) => (envelope, definition) =>
 *       Effect.tap(next(envelope, definition), () => Effect.logInfo(envelope.type))
 *   })
 * ))
 * ```
 * @since 0.1.0
 */
export const make = <E, R>(name: string, build: Effect.Effect<Installed["install"], E, R>): Plugin<E, R> => ({
  name,
  build: Effect.map(build, (install) => ({ name, install }))
})

/**
 * The plugins the bus installs, outermost first. Empty by default: a bus with
 * no plugins runs no middleware at all.
 *
 * @since 0.1.0
 */
export const Plugins = Context.Reference<ReadonlyArray<Installed>>("@eventfabric/core/Plugins", {
  defaultValue: () => []
})

type ErrorOf<P> = P extends Plugin<infer E, any> ? E : never
type ContextOf<P> = P extends Plugin<any, infer R> ? R : never

/**
 * Builds plugins into the `Plugins` reference that `EventBus.layer` reads.
 * Order is outermost first: in `layer(A, B)`, A's middleware wraps B's.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * declare const Validation: Plugin.Plugin
 * declare const Retry: Plugin.Plugin
 * const Live = EventBus.layer().pipe(Layer.provide(Plugin.layer(Validation, Retry)))
 * ```
 * @since 0.1.0
 */
export const layer = <const Ps extends ReadonlyArray<Plugin<any, any>>>(
  ...plugins: Ps
): Layer.Layer<never, ErrorOf<Ps[number]>, ContextOf<Ps[number]>> =>
  Layer.effectContext(
    Effect.map(
      Effect.forEach(plugins, (plugin) => plugin.build),
      (installed) => Context.make(Plugins, installed)
    )
  ) as any
