/**
 * Plugins: named, configured producers of middleware, composed as a layer.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Layer, type Schema, type Scope } from "effect"
import type { Delivery, DeliveryError, Outcome } from "./Delivery.ts"
import type { Egress } from "./Egress.ts"
import type * as EnvelopeModule from "./Envelope.ts"
import type { Envelope } from "./Envelope.ts"
import type { InvalidOptions, PublishError } from "./Errors.ts"
import type { Definition, Payload } from "./Event.ts"
import type { DeliveryMiddleware, PublishMiddleware, Receipt } from "./Middleware.ts"
import { decode } from "./Options.ts"
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
  /**
   * What every sink applies before anything leaves the process: the egress
   * filters of all installed plugins, in order (read it when writing, not at
   * install: plugins installed later contribute too).
   */
  readonly egress: Egress
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
   * Masks what leaves the process (the Redaction plugin). The bus applies it
   * to `system.handler_error` reports and to the loggers its handlers log
   * through; sinks (DLQ, audit, spans, transports) read it as `bus.egress`.
   */
  readonly egress?: Egress | undefined
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
 * A plugin that only contributes middleware: no options, no services, no bus
 * handle. The name is given once.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Plugin } from "@eventfabric/core"
 *
 * const Logging = Plugin.middleware("Logging", {
 *   publish: (next) => (envelope, definition) =>
 *     Effect.tap(next(envelope, definition), () => Effect.logInfo(envelope.type))
 * })
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const middleware = (name: string, hooks: Hooks): Plugin =>
  make(
    name,
    Effect.succeed(() => Effect.succeed(hooks))
  )

/**
 * The options argument of a configured plugin: optional when every option is.
 *
 * @since 0.2.0
 */
export type OptionsArgument<S extends Schema.Top> = {} extends S["Encoded"]
  ? [options?: S["Encoded"] | undefined]
  : [options: S["Encoded"]]

/**
 * What a configured plugin's `build` answers: its hooks, or, for a plugin that
 * needs the bus handle or the bus's scope, the install that makes them.
 *
 * @since 0.2.0
 */
export type Build = Hooks | Installed["install"]

/**
 * A plugin with Schema'd options, in one call: answers the plugin's
 * constructor. The options are decoded when `Plugin.layer` builds, with the
 * plugin's name as the path of a bad value (`InvalidOptions`, target = the
 * name); `build` then makes the plugin from the decoded options, directly or
 * as an Effect that may use services (a store, a clock). It answers the hooks,
 * or, when the plugin needs the bus handle (publish system events, read
 * stats) or the bus's scope (a fiber that lives as long as the bus), a
 * function of the bus that installs them.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Plugin } from "@eventfabric/core"
 *
 * const Options = Schema.Struct({ level: Schema.optional(Schema.Literals(["info", "debug"])) })
 * const Logging = Plugin.configured("Logging", Options, (options) => ({
 *   publish: (next) => (envelope, definition) =>
 *     Effect.tap(next(envelope, definition), () =>
 *       options.level === "debug" ? Effect.logDebug(envelope.type) : Effect.logInfo(envelope.type)
 *     )
 * }))
 * const plugin = Logging({ level: "debug" })
 *
 * // A plugin that needs the bus: build answers the install.
 * const Census = Plugin.configured("Census", Schema.Struct({}), () => (bus: Plugin.BusHandle) =>
 *   Effect.succeed({
 *     publish: (next) => (envelope, definition) =>
 *       Effect.tap(next(envelope, definition), () => Effect.flatMap(bus.stats, (s) => Effect.logDebug(s.published)))
 *   })
 * )
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const configured =
  <S extends Schema.Codec<any, any, never, never>, E = never, R = never>(
    name: string,
    options: S,
    build: (options: S["Type"]) => Build | Effect.Effect<Build, E, R>
  ) =>
  (...args: OptionsArgument<S>): Plugin<InvalidOptions | E, R> =>
    make(
      name,
      Effect.flatMap(decode(options, name, args[0]), (decoded) => {
        const built = build(decoded)
        return Effect.isEffect(built) ? Effect.map(built, toInstall) : Effect.succeed(toInstall(built))
      })
    )

const toInstall = (built: Build): Installed["install"] =>
  typeof built === "function" ? built : () => Effect.succeed(built)

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
