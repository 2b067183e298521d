/**
 * @eventfabric/plugins: typed middleware for @eventfabric/core.
 *
 * - Plugins (middleware, installed with `Plugin.layer`): `Validation`,
 *   `Redaction`, `Dedup`, `Metrics`, `Tracing`, `CircuitBreaker`, `Retry`,
 *   `DeadLetter`, `Audit`.
 * - Services and store contracts: `DeadLetterQueue`, `DeadLetterStore`,
 *   `DedupStore`, `StoreError` (what `@eventfabric/redis` implements).
 * - A subscription helper, not a plugin: `Batching` (`Batching.subscribe`).
 *
 * Exporters for Metrics live in `@eventfabric/exporters`.
 *
 * @since 0.1.0
 */

export * as Audit from "./Audit.ts"
export * as Batching from "./Batching.ts"
export * as CircuitBreaker from "./CircuitBreaker.ts"
export * as DeadLetter from "./DeadLetter.ts"
export * as DeadLetterQueue from "./DeadLetterQueue.ts"
export * as DeadLetterStore from "./DeadLetterStore.ts"
export * as Dedup from "./Dedup.ts"
export * as DedupStore from "./DedupStore.ts"
export * as Metrics from "./Metrics.ts"
export * as RateLimit from "./RateLimit.ts"
export * as Redaction from "./Redaction.ts"
export * as Retry from "./Retry.ts"
export * as RetryLater from "./RetryLater.ts"
export * as StoreError from "./StoreError.ts"
export * as Tracing from "./Tracing.ts"
export * as Validation from "./Validation.ts"
