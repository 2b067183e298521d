/**
 * The error of a plugin store (memory, Redis).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A store operation failed (Redis down, a corrupt entry).
 *
 * @example
 * ```ts
 * import { StoreError } from "@eventfabric/plugins"
 * new StoreError.StoreError({ store: "redis-dlq", message: "connection refused" })
 * ```
 * @since 0.1.0
 */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  store: Schema.String,
  message: Schema.String
}) {}
