/**
 * @eventfabric/plugins: typed middleware for @eventfabric/core.
 *
 * @since 0.1.0
 */
export * as DeadLetterStore from "./DeadLetterStore.ts"
export * as DedupStore from "./DedupStore.ts"
export * as StoreError from "./StoreError.ts"
