/**
 * The dead-letter queue: a service over the `DeadLetterStore` in context that
 * records failed deliveries and lets a program list, re-deliver and purge
 * them, with the errors its operations fail with.
 *
 * @since 0.2.0
 */
import { Options as CoreOptions, type Delivery, Egress, type Errors, type Plugin } from "@eventfabric/core"
import { Cause, Clock, Context, Duration, Effect, Layer, Option, Schema, type Scope } from "effect"
import {
  DeadLetterStore,
  type Entry,
  type Filter,
  layerMemory as layerMemoryStore,
  type MemoryOptions,
  type Reason,
  type StoreStats
} from "./DeadLetterStore.ts"
import type { StoreError } from "./StoreError.ts"

/**
 * No dead letter has this id (already retried, purged or evicted).
 *
 * @example
 * ```ts
 * import { DeadLetterQueue } from "@eventfabric/plugins"
 * new DeadLetterQueue.EntryNotFound({ id: "sub/0190..." }).message
 * ```
 * @since 0.1.0
 */
export class EntryNotFound extends Schema.TaggedError<EntryNotFound>()("EntryNotFound", { id: Schema.String }) {
  override get message() {
    return `no dead letter with id ${this.id}`
  }
}

/**
 * `retry` needs a bus: the DeadLetter plugin attaches one when the bus it is
 * installed in is built.
 *
 * @example
 * ```ts
 * import { DeadLetterQueue } from "@eventfabric/plugins"
 * new DeadLetterQueue.NotAttached({}).message
 * ```
 * @since 0.1.0
 */
export class NotAttached extends Schema.TaggedError<NotAttached>()("NotAttached", {}) {
  override get message() {
    return "no bus is attached to the dead-letter queue (is DeadLetter.plugin() installed?)"
  }
}

/**
 * Everything `retry` can fail with.
 *
 * @since 0.1.0
 */
export type RetryError = EntryNotFound | NotAttached | StoreError | Plugin.NoSubscription | Errors.PublishError

/**
 * What `retryAll` did: entries tried, re-delivered successfully (and removed),
 * failed again (still dead-lettered), or not re-delivered at all (`errors`,
 * e.g. the subscription is gone).
 *
 * @since 0.1.0
 */
export interface RetryAllResult {
  readonly total: number
  readonly succeeded: number
  readonly failed: number
  readonly errors: ReadonlyArray<RetryError>
}

/**
 * The queue's counters: the store's (`size`, `capacity`, `evicted`) plus
 * `recorded` (failures stored, re-failures included), `retried` and
 * `recovered` (retries that succeeded) since the queue was built.
 *
 * @since 0.1.0
 */
export interface QueueStats extends StoreStats {
  readonly recorded: number
  readonly retried: number
  readonly recovered: number
}

/**
 * Renders a delivery error for an entry's `cause`: the handler's full Cause
 * for `HandlerError`, the message otherwise.
 *
 * @example
 * ```ts
 * import { Cause } from "effect"
 * import { Delivery } from "@eventfabric/core"
 * import { DeadLetterQueue } from "@eventfabric/plugins"
 * DeadLetterQueue.render(new Delivery.HandlerError({ subscription: "s", cause: Cause.fail("boom") }))
 * ```
 * @since 0.1.0
 */
export const render = (error: Delivery.DeliveryError): string =>
  error._tag === "HandlerError" ? Cause.pretty(error.cause) : error.message

/**
 * The id of the dead letter of one envelope for one subscription. It is
 * stable, so a re-delivery that fails again updates the same entry (attempts,
 * last failure) instead of adding one.
 *
 * @example
 * ```ts
 * import { DeadLetterQueue } from "@eventfabric/plugins"
 * DeadLetterQueue.entryId("mailer", "0190f7c2-...") // "mailer/0190f7c2-..."
 * ```
 * @since 0.1.0
 */
export const entryId = (subscription: string, envelopeId: string): string => `${subscription}/${envelopeId}`

/**
 * The dead-letter queue over the `DeadLetterStore` in context.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DeadLetterQueue } from "@eventfabric/plugins"
 *
 * const replayTimeouts = Effect.gen(function*() {
 *   const dlq = yield* DeadLetterQueue.DeadLetterQueue
 *   const result = yield* dlq.retryAll({ reason: "HandlerTimeout" })
 *   yield* Effect.log(`${result.succeeded}/${result.total} recovered`)
 * })
 * ```
 * @since 0.1.0
 */
export class DeadLetterQueue extends Context.Service<
  DeadLetterQueue,
  {
    /**
     * Stores (or updates) the dead letter of a delivery. The middleware calls
     * it; so can a core hook for mailbox overflows, or a transport.
     */
    readonly record: (
      delivery: Delivery.Delivery,
      error: Delivery.DeliveryError,
      options?: { readonly attempts?: number | undefined; readonly firstFailureAt?: number | undefined }
    ) => Effect.Effect<Entry, StoreError>
    /** Entries, oldest first, narrowed by the filter. */
    readonly list: (filter?: Filter) => Effect.Effect<ReadonlyArray<Entry>, StoreError>
    readonly byType: (type: string) => Effect.Effect<ReadonlyArray<Entry>, StoreError>
    readonly byReason: (reason: Reason) => Effect.Effect<ReadonlyArray<Entry>, StoreError>
    readonly get: (id: string) => Effect.Effect<Option.Option<Entry>, StoreError>
    /**
     * Re-delivers an entry's envelope (attempt + 1) to its subscription only,
     * through its delivery chain. On success the entry is removed; a failure
     * updates it.
     */
    readonly retry: (id: string) => Effect.Effect<Delivery.Outcome, RetryError>
    /** `retry` for each matching entry, one at a time, oldest first. */
    readonly retryAll: (filter?: Filter) => Effect.Effect<RetryAllResult, StoreError>
    /** Removes matching entries (all without a filter); answers how many. */
    readonly purge: (filter?: Filter) => Effect.Effect<number, StoreError>
    /** Removes entries whose last failure is older than `age`. */
    /** A bad age (not a duration) fails with `InvalidOptions` and purges nothing. */
    readonly purgeOlderThan: (age: Duration.Input) => Effect.Effect<number, StoreError | Errors.InvalidOptions>
    readonly stats: Effect.Effect<QueueStats, StoreError>
    /** Attaches the bus that `retry` re-delivers through, while the scope lives. */
    readonly attach: (bus: Plugin.BusHandle) => Effect.Effect<void, never, Scope.Scope>
  }
>()("@eventfabric/plugins/DeadLetterQueue") {
  /** The queue over the `DeadLetterStore` in context (the module's `layer`). */
  static readonly layer: Layer.Layer<DeadLetterQueue, never, DeadLetterStore> = Layer.effect(
    DeadLetterQueue,
    Effect.suspend(() => make)
  )
}

/**
 * Builds the queue over the `DeadLetterStore` in context.
 *
 * @category constructors
 * @since 0.2.0
 */
export const make: Effect.Effect<DeadLetterQueue["Service"], never, DeadLetterStore> = Effect.gen(function* () {
  const store = yield* DeadLetterStore
  let bus: Plugin.BusHandle | undefined
  let recorded = 0
  let retried = 0
  let recovered = 0

  const record = Effect.fnUntraced(function* (
    delivery: Delivery.Delivery,
    error: Delivery.DeliveryError,
    options?: { readonly attempts?: number | undefined; readonly firstFailureAt?: number | undefined }
  ) {
    const now = yield* Clock.currentTimeMillis
    const id = entryId(delivery.subscription.name, delivery.envelope.id)
    const previous = yield* store.get(id)
    // A dead letter leaves the delivery path: it is stored, listed and shown
    // through the bus's egress (masked when the Redaction plugin is installed).
    const egress = bus?.egress ?? Egress.none
    const entry: Entry = {
      id,
      envelope: egress.envelope(delivery.envelope),
      subscription: delivery.subscription.name,
      reason: error._tag,
      cause: egress.string(render(error)),
      attempts: options?.attempts ?? delivery.envelope.attempt,
      firstFailureAt: Option.isSome(previous)
        ? previous.value.firstFailureAt
        : Math.min(options?.firstFailureAt ?? now, now),
      lastFailureAt: now
    }
    yield* store.put(entry)
    recorded++
    return entry
  })

  const retry = Effect.fnUntraced(function* (id: string) {
    if (bus === undefined) return yield* new NotAttached({})
    const found = yield* store.get(id)
    // An id from untyped code (a number, null) is not found, not a defect.
    if (Option.isNone(found)) {
      return yield* new EntryNotFound({ id: typeof id === "string" ? id : `(not a string: ${typeof id})` })
    }
    const entry = found.value
    retried++
    const outcome = yield* bus.redeliver(entry.subscription, { ...entry.envelope, attempt: entry.attempts + 1 })
    if (outcome.status === "succeeded") {
      recovered++
      yield* store.remove(id)
    }
    return outcome
  })

  const retryAll = Effect.fnUntraced(function* (filter?: Filter) {
    const entries = yield* store.list(filter)
    let succeeded = 0
    let failed = 0
    const errors: Array<RetryError> = []
    for (const entry of entries) {
      const result = yield* Effect.result(retry(entry.id))
      if (result._tag === "Failure") errors.push(result.failure)
      else if (result.success.status === "succeeded") succeeded++
      else failed++
    }
    return { total: entries.length, succeeded, failed, errors } satisfies RetryAllResult
  })

  return DeadLetterQueue.of({
    record,
    list: (filter) => store.list(filter),
    byType: (type) => store.list({ type }),
    byReason: (reason) => store.list({ reason }),
    get: (id) => store.get(id),
    retry,
    retryAll,
    purge: (filter) => store.purge(filter),
    purgeOlderThan: (age) =>
      Effect.flatMap(
        CoreOptions.decode(CoreOptions.DurationInput, "DeadLetterQueue.purgeOlderThan", age ?? null),
        (d) => Effect.flatMap(Clock.currentTimeMillis, (now) => store.purge({ before: now - Duration.toMillis(d) }))
      ),
    stats: Effect.map(store.stats, (s) => ({ ...s, recorded, retried, recovered })),
    attach: (handle) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          bus = handle
        }),
        () =>
          Effect.sync(() => {
            if (bus === handle) bus = undefined
          })
      )
  })
})

/**
 * The queue over the `DeadLetterStore` in context.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { DeadLetterQueue, DeadLetterStore } from "@eventfabric/plugins"
 * const Dlq = DeadLetterQueue.layer.pipe(Layer.provide(DeadLetterStore.layerMemory({ capacity: 1000 })))
 * ```
 * @category layers
 * @since 0.2.0
 */
export const layer: Layer.Layer<DeadLetterQueue, never, DeadLetterStore> = DeadLetterQueue.layer

/**
 * The queue over a bounded memory store; both services are provided (`layerMemory`
 * means the same in every module: the module's service, kept in memory).
 *
 * @example
 * ```ts
 * import { DeadLetterQueue } from "@eventfabric/plugins"
 * const Dlq = DeadLetterQueue.layerMemory({ capacity: 10_000 })
 * ```
 * @category layers
 * @since 0.2.0
 */
export const layerMemory = (
  options?: MemoryOptions
): Layer.Layer<DeadLetterQueue | DeadLetterStore, Errors.InvalidOptions> =>
  layer.pipe(Layer.provideMerge(layerMemoryStore(options)))
