/**
 * Where Dedup remembers the keys it has seen: the store contract, and the
 * bounded memory store beside it (`@eventfabric/redis` provides one shared
 * across processes against the same contract).
 *
 * @since 0.1.0
 */
import { Options as CoreOptions, type Errors } from "@eventfabric/core"
import { Clock, Context, Duration, Effect, Layer, Schema } from "effect"
import type { StoreError } from "./StoreError.ts"

/**
 * A set of keys, each remembered for a window.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DedupStore } from "@eventfabric/plugins"
 *
 * const firstTime = Effect.gen(function*() {
 *   const store = yield* DedupStore.DedupStore
 *   return yield* store.claim("orders.placed:o-1", "1 second")
 * })
 * ```
 * @category services
 * @since 0.1.0
 */
export class DedupStore extends Context.Service<
  DedupStore,
  {
    /**
     * Remembers `key` for `window` and answers true when it was not already
     * remembered (the event is new), false when it is a repeat inside its window.
     */
    readonly claim: (key: string, window: Duration.Input) => Effect.Effect<boolean, StoreError>
    /** Keys remembered now (bounded by the store's cap). */
    readonly size: Effect.Effect<number, StoreError>
    /**
     * `claim` without an Effect, for a store that answers in the process (the
     * memory store): the plugin then admits without running an Effect for it.
     */
    readonly claimUnsafe?: ((key: string, windowMillis: number, now: number) => boolean) | undefined
  }
>()("@eventfabric/plugins/DedupStore") {}

/**
 * The bounded memory `DedupStore`: the service, with its synchronous claim
 * and its counters.
 *
 * @category memory store
 * @since 0.2.0
 */
export type MemoryStore = DedupStore["Service"] & {
  /** Claims without an Effect: true when the key is new. */
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
 * import { DedupStore } from "@eventfabric/plugins"
 * const memory = Effect.map(Clock.Clock, (clock) => DedupStore.makeMemoryStore({ capacity: 10_000, clock }))
 * ```
 * @category memory store
 * @since 0.1.0
 */
export const makeMemoryStore = (options: { readonly capacity: number; readonly clock: Clock.Clock }): MemoryStore => {
  const { capacity, clock } = options
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
    claim: (key, window) =>
      Effect.sync(() => claimUnsafe(key, Duration.toMillis(window), clock.currentTimeMillisUnsafe())),
    size: Effect.sync(() => expiries.size)
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
 * import { Dedup, DedupStore } from "@eventfabric/plugins"
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(Dedup.plugin())),
 *   Layer.provide(DedupStore.layerMemory({ capacity: 1_000_000 }))
 * )
 * ```
 * @category memory store
 * @since 0.1.0
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<DedupStore, Errors.InvalidOptions> =>
  Layer.effect(
    DedupStore,
    Effect.gen(function* () {
      const decoded = yield* CoreOptions.decode(MemoryOptions, "DedupStore.layerMemory", options)
      return makeMemoryStore({ capacity: decoded.capacity ?? 100_000, clock: yield* Clock.Clock })
    })
  )
