/**
 * Where Dedup remembers the keys it has seen. The memory store lives in
 * `Dedup.ts`; `@eventfabric/redis` provides one shared across processes.
 *
 * @since 0.1.0
 */
import { Context, type Duration, type Effect } from "effect"
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
  }
>()("@eventfabric/plugins/DedupStore") {}
