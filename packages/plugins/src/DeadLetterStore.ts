/**
 * Where the dead-letter queue keeps its entries: the store contract, and the
 * bounded memory store beside it (`@eventfabric/redis` provides a Redis-backed
 * one against the same contract).
 *
 * @since 0.1.0
 */
import { Options as CoreOptions, Envelope, type Errors } from "@eventfabric/core"
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { StoreError } from "./StoreError.ts"

/**
 * Why a delivery was dead-lettered. The first four are delivery errors'
 * tags; `DecodeFailed` comes from transports that could not decode an entry,
 * `MaxDeliveries` from transports that delivered an entry more times than
 * allowed without an acknowledgement.
 *
 * @since 0.1.0
 */
export const Reason = Schema.Literals([
  "HandlerError",
  "HandlerTimeout",
  "CircuitOpen",
  "Overflow",
  "DecodeFailed",
  "MaxDeliveries"
])

/**
 * @since 0.1.0
 */
export type Reason = typeof Reason.Type

/**
 * One dead letter, as a Schema so stores can encode it to JSON. The envelope
 * is stored as the DLQ plugin received it (redacted when Redaction runs in
 * "egress" mode).
 *
 * @since 0.1.0
 */
export const Entry = Schema.Struct({
  id: Schema.String,
  envelope: Envelope.Any,
  subscription: Schema.String,
  reason: Reason,
  /** The failure's Cause, rendered. */
  cause: Schema.String,
  attempts: Schema.Int,
  /** Epoch milliseconds. */
  firstFailureAt: Schema.Number,
  lastFailureAt: Schema.Number
})

/**
 * @since 0.1.0
 */
export type Entry = typeof Entry.Type

/**
 * Which entries a query or a purge touches; every field narrows.
 *
 * @since 0.1.0
 */
export interface Filter {
  readonly type?: string | undefined
  readonly reason?: Reason | undefined
  readonly subscription?: string | undefined
  /** Entries whose last failure is older than this epoch-millisecond time. */
  readonly before?: number | undefined
  readonly limit?: number | undefined
}

/**
 * Store counters. `evicted` counts entries pushed out by the capacity bound.
 *
 * @since 0.1.0
 */
export interface StoreStats {
  readonly size: number
  readonly capacity: number
  readonly evicted: number
}

/**
 * A bounded store of dead letters, oldest evicted first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DeadLetterStore } from "@eventfabric/plugins"
 *
 * const timeouts = Effect.flatMap(DeadLetterStore.DeadLetterStore, (s) => s.list({ reason: "HandlerTimeout" }))
 * ```
 * @since 0.1.0
 */
export class DeadLetterStore extends Context.Service<
  DeadLetterStore,
  {
    readonly put: (entry: Entry) => Effect.Effect<void, StoreError>
    readonly get: (id: string) => Effect.Effect<Option.Option<Entry>, StoreError>
    /** Oldest first. */
    readonly list: (filter?: Filter) => Effect.Effect<ReadonlyArray<Entry>, StoreError>
    readonly remove: (id: string) => Effect.Effect<boolean, StoreError>
    /** Removes matching entries (all without a filter); answers how many. */
    readonly purge: (filter?: Filter) => Effect.Effect<number, StoreError>
    readonly stats: Effect.Effect<StoreStats, StoreError>
  }
>()("@eventfabric/plugins/DeadLetterStore") {}

/**
 * Options of the memory store: `capacity` (default 10 000 entries); past it
 * the oldest entry is evicted and counted.
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

// No filter selects everything; a filter that is not an object (junk from
// untyped code) selects nothing, so `purge(null)` cannot empty the queue.
const matches = (entry: Entry, filter: Filter | undefined): boolean =>
  filter === undefined ||
  (typeof filter === "object" &&
    filter !== null &&
    (filter.type === undefined || entry.envelope.type === filter.type) &&
    (filter.reason === undefined || entry.reason === filter.reason) &&
    (filter.subscription === undefined || entry.subscription === filter.subscription) &&
    (filter.before === undefined || entry.lastFailureAt < filter.before))

/**
 * A bounded in-memory `DeadLetterStore`, insertion-ordered: re-putting an id
 * moves it to the newest end; past `capacity` the oldest entry is evicted.
 *
 * @example
 * ```ts
 * import { DeadLetterStore } from "@eventfabric/plugins"
 * const store = DeadLetterStore.makeMemoryStore({ capacity: 100 })
 * ```
 * @category memory store
 * @since 0.1.0
 */
export const makeMemoryStore = (options: { readonly capacity: number }): DeadLetterStore["Service"] => {
  const capacity = options.capacity
  const entries = new Map<string, Entry>()
  let evicted = 0
  const select = (filter: Filter | undefined): Array<Entry> => {
    const out: Array<Entry> = []
    const limit = filter?.limit ?? Number.POSITIVE_INFINITY
    for (const entry of entries.values()) {
      if (out.length >= limit) break
      if (matches(entry, filter)) out.push(entry)
    }
    return out
  }
  return DeadLetterStore.of({
    put: (entry) =>
      Effect.sync(() => {
        entries.delete(entry.id)
        entries.set(entry.id, entry)
        while (entries.size > capacity) {
          entries.delete(entries.keys().next().value!)
          evicted++
        }
      }),
    get: (id) => Effect.sync(() => Option.fromNullishOr(entries.get(id))),
    list: (filter) => Effect.sync(() => select(filter)),
    remove: (id) => Effect.sync(() => entries.delete(id)),
    purge: (filter) =>
      Effect.sync(() => {
        const doomed = select(filter)
        for (const entry of doomed) entries.delete(entry.id)
        return doomed.length
      }),
    stats: Effect.sync(() => ({ size: entries.size, capacity, evicted }))
  })
}

/**
 * The memory store as a layer; its options are decoded (a bad capacity fails
 * the layer with `InvalidOptions`).
 *
 * @example
 * ```ts
 * import { DeadLetterStore } from "@eventfabric/plugins"
 * const Store = DeadLetterStore.layerMemory({ capacity: 1000 })
 * ```
 * @since 0.1.0
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<DeadLetterStore, Errors.InvalidOptions> =>
  Layer.effect(
    DeadLetterStore,
    Effect.map(CoreOptions.decode(MemoryOptions, "DeadLetterStore.layerMemory", options), (decoded) =>
      makeMemoryStore({ capacity: decoded.capacity ?? 10_000 })
    )
  )
