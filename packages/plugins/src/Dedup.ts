/**
 * Dedup: suppresses an event published again inside a window (default 1 s).
 * The repeat is not enqueued; its receipt says `deduplicated` and the bus
 * counts it under `stats.deduplicated`. Opt-in: a bus without this plugin
 * never deduplicates.
 *
 * The key is the definition's key annotation when it has one (`type` + key,
 * set with `Dedup.keyed`), else a 128-bit hash of the type, the source and
 * the canonical JSON of the payload (object keys sorted, so `{a, b}` and
 * `{b, a}` are the same event).
 *
 * Keys live in the `DedupStore` found in context (Redis shares them between
 * processes); without one, a bounded memory store: expired keys are pruned on
 * the way, and past `capacity` the oldest key is forgotten (counted).
 *
 * A store that fails lets the event through (logged): dedup is an
 * optimisation, losing an event is not.
 *
 * @since 0.1.0
 */
import type { Errors, Middleware } from "@eventfabric/core"
import { Options as CoreOptions, type Envelope, Event, Plugin } from "@eventfabric/core"
import { Clock, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { DedupStore, makeMemoryStore } from "./DedupStore.ts"
import { KeyAnnotation, keyOf } from "./internal/dedupKey.ts"

/**
 * Gives a definition its dedup key: two publishes with the same key inside
 * the window are one event. Without it, the key is a hash of the type, the
 * source and the payload.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 * import { Dedup } from "@eventfabric/plugins"
 * const Placed = Dedup.keyed(
 *   Event.define("orders.placed", { payload: Schema.Struct({ orderId: Schema.String }) }),
 *   (p) => p.orderId
 * )
 * ```
 * @category annotations
 * @since 0.2.0
 */
export const keyed = <D extends Event.Definition>(definition: D, key: (payload: Event.Payload<D>) => string): D =>
  Event.annotate(definition, { [KeyAnnotation]: key })

/**
 * The plugin's options: `window` (default 1 s) and, for the memory store it
 * makes when no `DedupStore` is in context, `capacity` (default 100 000 keys).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Dedup } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Dedup.Options)({ window: "5 seconds" })
 * ```
 * @category options
 * @since 0.2.0
 */
export const Options = Schema.Struct({
  window: Schema.optional(CoreOptions.DurationInput),
  capacity: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
})

/**
 * @category options
 * @since 0.2.0
 */
export type Options = typeof Options.Encoded

/**
 * The window, re-tunable while the bus runs (seed 000's `configure()`).
 * Provide `Dedup.Window.layer(...)` beside the plugin and the plugin reads the
 * window from it on every publish; `set` takes effect for the next publish.
 * Without it, the window is the plugin config's, fixed.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Dedup } from "@eventfabric/plugins"
 *
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(Dedup.plugin())),
 *   Layer.provideMerge(Dedup.Window.layer("1 second"))
 * )
 * const widen = Effect.flatMap(Dedup.Window, (w) => w.set("10 seconds"))
 * ```
 * @since 0.1.0
 */
export class Window extends Context.Service<
  Window,
  {
    readonly get: Effect.Effect<Duration.Duration>
    readonly set: (window: Duration.Input) => Effect.Effect<void, Errors.InvalidOptions>
    /** The current window, read synchronously by the middleware. */
    readonly current: () => Duration.Duration
  }
>()("@eventfabric/plugins/Dedup/Window") {
  static readonly layer = (initial?: Duration.Input): Layer.Layer<Window, Errors.InvalidOptions> =>
    Layer.effect(
      Window,
      Effect.map(CoreOptions.decode(WindowInput, "Dedup.Window", { window: initial }), (decoded) => {
        let window = decoded.window ?? Duration.seconds(1)
        return Window.of({
          get: Effect.sync(() => window),
          set: (next) =>
            Effect.map(CoreOptions.decode(WindowInput, "Dedup.Window.set", { window: next }), (d) => {
              if (d.window !== undefined) window = d.window
            }),
          current: () => window
        })
      })
    )
}

const WindowInput = Schema.Struct({ window: Schema.optional(CoreOptions.DurationInput) })

/**
 * The publish middleware over a store, with the window read on each publish.
 * A store with a synchronous claim (the memory store) is claimed without
 * running an Effect for it; a store that fails lets the event through
 * (logged).
 *
 * @example
 * ```ts
 * import { Clock, Duration, Effect } from "effect"
 * import { Dedup, DedupStore } from "@eventfabric/plugins"
 * const m = Effect.gen(function*() {
 *   const store = yield* DedupStore.DedupStore
 *   return Dedup.middleware(store, () => Duration.seconds(1), yield* Clock.Clock)
 * })
 * ```
 * @since 0.1.0
 */
export const middleware = (
  store: DedupStore["Service"],
  window: () => Duration.Duration,
  clock: Clock.Clock
): Middleware.PublishMiddleware => {
  const claimUnsafe = store.claimUnsafe
  return (next) => (envelope, definition) => {
    const key = keyOf(envelope, definition)
    if (claimUnsafe !== undefined) {
      return claimUnsafe(key, Duration.toMillis(window()), clock.currentTimeMillisUnsafe())
        ? next(envelope, definition)
        : Effect.succeed(deduplicated(envelope))
    }
    return Effect.flatMap(
      store
        .claim(key, window())
        .pipe(
          Effect.catch((error) => Effect.as(Effect.logWarning("dedup store failed; event let through", error), true))
        ),
      (fresh) => (fresh ? next(envelope, definition) : Effect.succeed(deduplicated(envelope)))
    )
  }
}

const deduplicated = (envelope: Envelope.Envelope): Middleware.Receipt => ({
  id: envelope.id,
  type: envelope.type,
  lane: envelope.priority,
  status: "deduplicated"
})

/**
 * The Dedup plugin.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Dedup } from "@eventfabric/plugins"
 * const Bus = EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Dedup.plugin({ window: "1 second" }))))
 * ```
 * @category plugins
 * @since 0.1.0
 */
export const plugin = Plugin.configured("Dedup", Options, (options) =>
  Effect.gen(function* () {
    const clock = yield* Clock.Clock
    const shared = yield* Effect.serviceOption(DedupStore)
    const store = Option.isSome(shared)
      ? shared.value
      : makeMemoryStore({ capacity: options.capacity ?? 100_000, clock })
    const control = yield* Effect.serviceOption(Window)
    const fixed = options.window ?? Duration.seconds(1)
    return { publish: middleware(store, Option.isSome(control) ? control.value.current : () => fixed, clock) }
  })
)
