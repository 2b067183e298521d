/**
 * Dedup: suppresses an event published again inside a window (default 1 s).
 * The repeat is not enqueued; its receipt says `deduplicated` and the bus
 * counts it under `stats.deduplicated`. Opt-in: a bus without this plugin
 * never deduplicates.
 *
 * The key is the definition's `key` function when it has one (`type` + key),
 * else a 106-bit hash of the type, the source and the canonical JSON of the
 * payload (object keys sorted, so `{a, b}` and `{b, a}` are the same event).
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
import { type Envelope, type Event, Options, Plugin } from "@eventfabric/core"
import { Clock, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { DedupStore } from "./DedupStore.ts"

/**
 * Writes a value as JSON with object keys sorted at every depth, so equal
 * payloads give equal strings whatever their key order. `undefined` fields
 * are left out (as JSON does), bigints written as strings.
 *
 * @example
 * ```ts
 * import { Dedup } from "@eventfabric/plugins"
 * Dedup.canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }) // '{"a":[{"c":3,"d":2}],"b":1}'
 * ```
 * @since 0.1.0
 */
export const canonicalJson = (value: unknown): string => canonical(value, [])

// `path` holds the objects being rendered: a cycle renders as "[Circular]"
// instead of overflowing the stack (found by the fuzz test).
const canonical = (value: unknown, path: Array<object>): string => {
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return JSON.stringify(value.toString())
    return JSON.stringify(value) ?? "null"
  }
  if (path.includes(value)) return '"[Circular]"'
  path.push(value)
  try {
    const json = (value as { toJSON?: () => unknown }).toJSON
    if (typeof json === "function") return canonical(json.call(value), path)
    if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonical(v, path))).join(",")}]`
    const keys = Object.keys(value).sort()
    let out = "{"
    for (const key of keys) {
      const v = (value as Record<string, unknown>)[key]
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue
      if (out.length > 1) out += ","
      out += `${JSON.stringify(key)}:${canonical(v, path)}`
    }
    return `${out}}`
  } finally {
    path.pop()
  }
}

/** cyrb53: a fast, well-mixed 53-bit string hash. */
const cyrb53 = (s: string, seed: number): number => {
  let h1 = 0xdeadbeef ^ seed
  let h2 = 0x41c6ce57 ^ seed
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return 4294967296 * (2097151 & h2) + (h1 >>> 0)
}

/**
 * The dedup key of an envelope: `type` and the definition's key when it has
 * one; else `type`, `source` and a 106-bit hash (two seeded 53-bit cyrb53) of
 * the canonical payload.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 * import { Dedup } from "@eventfabric/plugins"
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ orderId: Schema.String }), key: (p) => p.orderId })
 * Dedup.keyOf({ type: "orders.placed", payload: { orderId: "o-1" } } as never, Placed) // "orders.placed#o-1"
 * ```
 * @since 0.1.0
 */
export const keyOf = (envelope: Envelope.Envelope, definition: Event.Definition): string => {
  if (definition.key !== undefined) return `${envelope.type}#${definition.key(envelope.payload)}`
  const text = `${envelope.source ?? ""}\u0000${canonicalJson(envelope.payload)}`
  return `${envelope.type}\u0000${envelope.source ?? ""}\u0000${cyrb53(text, 1).toString(36)}${cyrb53(text, 2).toString(
    36
  )}`
}

/**
 * A bounded memory `DedupStore` with its counters.
 *
 * @since 0.1.0
 */
export interface MemoryStore {
  readonly store: DedupStore["Service"]
  /** Claims without an Effect (benchmarks, tests): true when the key is new. */
  readonly claimUnsafe: (key: string, windowMillis: number, now: number) => boolean
  readonly stats: () => { readonly size: number; readonly capacity: number; readonly evicted: number }
}

/**
 * Makes a bounded memory store. Keys are kept in insertion order with their
 * expiry: each claim prunes expired keys from the oldest end (amortised O(1):
 * each key is removed once), and at `capacity` forgets the oldest key
 * (counted `evicted`; a repeat of it would then pass).
 *
 * @example
 * ```ts
 * import { Clock, Effect } from "effect"
 * import { Dedup } from "@eventfabric/plugins"
 * const memory = Effect.map(Clock.Clock, (clock) => Dedup.makeMemoryStore(10_000, clock))
 * ```
 * @since 0.1.0
 */
export const makeMemoryStore = (capacity: number, clock: Clock.Clock): MemoryStore => {
  // `expiries` answers lookups; the FIFO (`keys`/`times` from `head`) keeps
  // insertion order for pruning and eviction. A Map alone would do both, but
  // V8 leaves deleted slots at the front of a Map until it rehashes, so
  // iterating from the oldest end after many deletions costs O(deleted).
  const expiries = new Map<string, number>()
  let keys: Array<string> = []
  let times: Array<number> = []
  let head = 0
  let evicted = 0
  const compact = () => {
    const liveKeys: Array<string> = []
    const liveTimes: Array<number> = []
    for (let i = head; i < keys.length; i++) {
      if (expiries.get(keys[i]!) === times[i]) {
        liveKeys.push(keys[i]!)
        liveTimes.push(times[i]!)
      }
    }
    keys = liveKeys
    times = liveTimes
    head = 0
  }
  /** Removes the oldest FIFO entry; true when it was live (not superseded). */
  const shift = (): boolean => {
    const key = keys[head]!
    const live = expiries.get(key) === times[head]
    if (live) expiries.delete(key)
    head++
    return live
  }
  const claimUnsafe = (key: string, windowMillis: number, now: number): boolean => {
    const expiry = expiries.get(key)
    if (expiry !== undefined) {
      if (expiry > now) return false
      expiries.delete(key)
    }
    while (head < keys.length && times[head]! <= now) shift()
    while (expiries.size >= capacity && head < keys.length) if (shift()) evicted++
    const until = now + windowMillis
    expiries.set(key, until)
    keys.push(key)
    times.push(until)
    if (head > 4096 && head * 2 > keys.length) compact()
    else if (keys.length - head > 2 * capacity + 4096) compact()
    return true
  }
  return {
    claimUnsafe,
    stats: () => ({ size: expiries.size, capacity, evicted }),
    store: DedupStore.of({
      claim: (key, window) =>
        Effect.sync(() => claimUnsafe(key, Duration.toMillis(window), clock.currentTimeMillisUnsafe())),
      size: Effect.sync(() => expiries.size)
    })
  }
}

/**
 * Options of the memory store: `capacity` in keys (default 100 000).
 *
 * @since 0.1.0
 */
export const MemoryOptions = Schema.Struct({
  capacity: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
})

/**
 * @since 0.1.0
 */
export type MemoryOptions = typeof MemoryOptions.Encoded

/**
 * The memory store as a layer (options decoded).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Dedup } from "@eventfabric/plugins"
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(Dedup.plugin())),
 *   Layer.provide(Dedup.layerMemory({ capacity: 1_000_000 }))
 * )
 * ```
 * @since 0.1.0
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<DedupStore, Errors.InvalidOptions> =>
  Layer.effect(
    DedupStore,
    Effect.gen(function* () {
      const decoded = yield* Options.decode(MemoryOptions, "Dedup.layerMemory", options)
      return makeMemoryStore(decoded.capacity ?? 100_000, yield* Clock.Clock).store
    })
  )

/**
 * The plugin's config: `window` (default 1 s) and, for the memory store it
 * makes when no `DedupStore` is in context, `capacity` (default 100 000 keys).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Dedup } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Dedup.Config)({ window: "5 seconds" })
 * ```
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  window: Schema.optional(Options.DurationInput),
  capacity: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
})

/**
 * @since 0.1.0
 */
export type Config = typeof Config.Encoded

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
      Effect.map(Options.decode(WindowInput, "Dedup.Window", { window: initial }), (decoded) => {
        let window = decoded.window ?? Duration.seconds(1)
        return Window.of({
          get: Effect.sync(() => window),
          set: (next) =>
            Effect.map(Options.decode(WindowInput, "Dedup.Window.set", { window: next }), (d) => {
              if (d.window !== undefined) window = d.window
            }),
          current: () => window
        })
      })
    )
}

const WindowInput = Schema.Struct({ window: Schema.optional(Options.DurationInput) })

/**
 * The publish middleware over a store, with the window read on each publish.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { Dedup, DedupStore } from "@eventfabric/plugins"
 * const m = Effect.map(DedupStore.DedupStore, (store) => Dedup.middleware(store, () => Duration.seconds(1)))
 * ```
 * @since 0.1.0
 */
export const middleware =
  (store: DedupStore["Service"], window: () => Duration.Duration): Middleware.PublishMiddleware =>
  (next) =>
  (envelope, definition) =>
    Effect.flatMap(
      store
        .claim(keyOf(envelope, definition), window())
        .pipe(
          Effect.catch((error) => Effect.as(Effect.logWarning("dedup store failed; event let through", error), true))
        ),
      (fresh) =>
        fresh
          ? next(envelope, definition)
          : Effect.succeed({
              id: envelope.id,
              type: envelope.type,
              lane: envelope.priority,
              status: "deduplicated" as const
            })
    )

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
 * @since 0.1.0
 */
export const plugin = (config?: Config): Plugin.Plugin<Errors.InvalidOptions> =>
  Plugin.make(
    "Dedup",
    Effect.gen(function* () {
      const decoded = yield* Options.decode(Config, "Dedup", config)
      const shared = yield* Effect.serviceOption(DedupStore)
      const store = Option.isSome(shared)
        ? shared.value
        : makeMemoryStore(decoded.capacity ?? 100_000, yield* Clock.Clock).store
      const control = yield* Effect.serviceOption(Window)
      const fixed = decoded.window ?? Duration.seconds(1)
      const publish = middleware(store, Option.isSome(control) ? control.value.current : () => fixed)
      return () => Effect.succeed({ publish })
    })
  )
