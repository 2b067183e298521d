/**
 * Where the dead-letter queue keeps its entries. The memory store lives in
 * `DeadLetter.ts`; `@eventfabric/redis` provides a Redis-backed one.
 *
 * @since 0.1.0
 */
import { Envelope } from "@eventfabric/core"
import { Context, type Effect, type Option, Schema } from "effect"
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
