/**
 * DeadLetter: a delivery that failed for good is stored, with why and since
 * when, in a bounded `DeadLetterStore`, and can be inspected, re-delivered to
 * its subscription, or purged.
 *
 * Place it outermost of the delivery plugins (first in `Plugin.layer(...)`
 * among Retry and CircuitBreaker): it then sees the failure that remains after
 * retries, and the rejections of an open circuit (reason `CircuitOpen`).
 *
 * Mailbox overflows (`Overflow`) are refused by the core before any delivery
 * middleware runs; the core hands them to the plugin's `undelivered` hook,
 * which stores them the same way.
 *
 * @since 0.1.0
 */
import type { Errors, Middleware } from "@eventfabric/core"
import { Delivery, Options, Plugin } from "@eventfabric/core"
import { Cause, Clock, Context, Duration, Effect, Layer, Option, Schema, type Scope } from "effect"
import { DeadLetterStore, type Entry, type Filter, Reason, type StoreStats } from "./DeadLetterStore.ts"
import { CurrentAttempt } from "./internal/attempts.ts"
import type { StoreError } from "./StoreError.ts"

/**
 * No dead letter has this id (already retried, purged or evicted).
 *
 * @example
 * ```ts
 * import { DeadLetter } from "@eventfabric/plugins"
 * new DeadLetter.EntryNotFound({ id: "sub/0190..." }).message
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
 * import { DeadLetter } from "@eventfabric/plugins"
 * new DeadLetter.NotAttached({}).message
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
 * import { DeadLetter } from "@eventfabric/plugins"
 * DeadLetter.render(new Delivery.HandlerError({ subscription: "s", cause: Cause.fail("boom") }))
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
 * import { DeadLetter } from "@eventfabric/plugins"
 * DeadLetter.entryId("mailer", "0190f7c2-...") // "mailer/0190f7c2-..."
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
 * import { DeadLetter } from "@eventfabric/plugins"
 *
 * const replayTimeouts = Effect.gen(function*() {
 *   const dlq = yield* DeadLetter.DeadLetterQueue
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
  /**
   * The queue over the `DeadLetterStore` in context.
   *
   * @example
   * ```ts
   * import { Layer } from "effect"
   * import { DeadLetter } from "@eventfabric/plugins"
   * const Dlq = DeadLetter.DeadLetterQueue.layer.pipe(Layer.provide(DeadLetter.layerMemory({ capacity: 1000 })))
   * ```
   */
  static readonly layer: Layer.Layer<DeadLetterQueue, never, DeadLetterStore> = Layer.effect(
    DeadLetterQueue,
    Effect.gen(function* () {
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
        const entry: Entry = {
          id,
          envelope: delivery.envelope,
          subscription: delivery.subscription.name,
          reason: error._tag,
          cause: render(error),
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
          Effect.flatMap(Options.decode(Options.DurationInput, "DeadLetterQueue.purgeOlderThan", age ?? null), (d) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => store.purge({ before: now - Duration.toMillis(d) }))
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
  )

  /**
   * The queue with a bounded memory store; both services are provided.
   *
   * @example
   * ```ts
   * import { DeadLetter } from "@eventfabric/plugins"
   * const Dlq = DeadLetter.DeadLetterQueue.layerMemory({ capacity: 10_000 })
   * ```
   */
  static readonly layerMemory = (
    options?: MemoryOptions
  ): Layer.Layer<DeadLetterQueue | DeadLetterStore, Errors.InvalidOptions> =>
    DeadLetterQueue.layer.pipe(Layer.provideMerge(layerMemory(options)))
}

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
 * import { DeadLetter } from "@eventfabric/plugins"
 * const store = DeadLetter.makeMemoryStore(100)
 * ```
 * @since 0.1.0
 */
export const makeMemoryStore = (capacity: number): DeadLetterStore["Service"] => {
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
 * import { DeadLetter } from "@eventfabric/plugins"
 * const Store = DeadLetter.layerMemory({ capacity: 1000 })
 * ```
 * @since 0.1.0
 */
export const layerMemory = (options?: MemoryOptions): Layer.Layer<DeadLetterStore, Errors.InvalidOptions> =>
  Layer.effect(
    DeadLetterStore,
    Effect.map(Options.decode(MemoryOptions, "DeadLetter.layerMemory", options), (decoded) =>
      makeMemoryStore(decoded.capacity ?? 10_000)
    )
  )

/**
 * The plugin's config: `reasons` to store (default all four delivery error
 * tags). A failure with another reason passes through unstored.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { DeadLetter } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(DeadLetter.Config)({ reasons: ["HandlerError", "HandlerTimeout"] })
 * ```
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  reasons: Schema.optional(Schema.Array(Reason))
})

/**
 * @since 0.1.0
 */
export type Config = typeof Config.Encoded

/**
 * The hook the core would call for deliveries refused before the middleware
 * chain (mailbox overflow); answers the entry id when it stored one.
 *
 * @since 0.1.0
 */
export type Undelivered = (
  delivery: Delivery.Delivery,
  error: Delivery.DeliveryError
) => Effect.Effect<string | undefined>

/**
 * The hooks the plugin installs: the delivery middleware, and `undelivered`
 * for the core to call on overflows.
 *
 * @since 0.1.0
 */
export interface DeadLetterHooks extends Plugin.Hooks {
  readonly delivery: Middleware.DeliveryMiddleware
  readonly undelivered: Undelivered
}

/**
 * Builds the middleware and the overflow hook over a queue.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DeadLetter } from "@eventfabric/plugins"
 * const hooks = Effect.map(DeadLetter.DeadLetterQueue, (dlq) => DeadLetter.hooks(dlq))
 * ```
 * @since 0.1.0
 */
export const hooks = (
  dlq: DeadLetterQueue["Service"],
  reasons: ReadonlySet<string> = new Set(["HandlerError", "HandlerTimeout", "CircuitOpen", "Overflow"])
): DeadLetterHooks => {
  const store = (
    delivery: Delivery.Delivery,
    error: Delivery.DeliveryError,
    options?: { readonly attempts?: number | undefined; readonly firstFailureAt?: number | undefined }
  ): Effect.Effect<string | undefined> =>
    reasons.has(error._tag)
      ? dlq.record(delivery, error, options).pipe(
          Effect.map((entry): string | undefined => entry.id),
          // A store that fails must not turn a delivery failure into something
          // else: the failure is still counted and reported by the core.
          Effect.catch((storeError) =>
            Effect.as(Effect.logWarning("dead-letter store failed", storeError), undefined as string | undefined)
          )
        )
      : Effect.succeed(undefined)
  const delivery: Middleware.DeliveryMiddleware = (next) => (d) => {
    const cell = { attempt: d.envelope.attempt, firstFailureAt: undefined as number | undefined }
    return next(d).pipe(
      Effect.provideService(CurrentAttempt, cell),
      Effect.catch((error) =>
        error._tag === "DeadLettered"
          ? Effect.fail(error)
          : Effect.flatMap(store(d, error, { attempts: cell.attempt, firstFailureAt: cell.firstFailureAt }), (id) =>
              Effect.fail(id === undefined ? error : new Delivery.DeadLettered({ error, entryId: id }))
            )
      )
    )
  }
  return { delivery, undelivered: store }
}

/**
 * The DeadLetter plugin. Needs a `DeadLetterQueue` (e.g.
 * `DeadLetterQueue.layerMemory()`); provide the same layer to your program to
 * inspect and retry entries.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { DeadLetter, Retry } from "@eventfabric/plugins"
 *
 * const Dlq = DeadLetter.DeadLetterQueue.layerMemory({ capacity: 10_000 })
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(DeadLetter.plugin(), Retry.plugin({ times: 3 }))),
 *   Layer.provideMerge(Dlq)
 * )
 * ```
 * @since 0.1.0
 */
export const plugin = (config?: Config): Plugin.Plugin<Errors.InvalidOptions, DeadLetterQueue> =>
  Plugin.make(
    "DeadLetter",
    Effect.gen(function* () {
      const decoded = yield* Options.decode(Config, "DeadLetter", config)
      const dlq = yield* DeadLetterQueue
      const installed = hooks(
        dlq,
        new Set(decoded.reasons ?? ["HandlerError", "HandlerTimeout", "CircuitOpen", "Overflow"])
      )
      return (bus: Plugin.BusHandle) => Effect.as(dlq.attach(bus), installed as Plugin.Hooks)
    })
  )
