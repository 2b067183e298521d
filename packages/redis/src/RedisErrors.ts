/**
 * The typed errors of the Redis transport.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Redis did not answer (down, unreachable, timed out). Nothing was written:
 * the transport does not buffer while Redis is down, so the caller decides
 * whether to retry, drop or fail.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RedisErrors } from "@eventfabric/redis"
 *
 * declare const publish: Effect.Effect<void, RedisErrors.RedisUnavailable>
 * publish.pipe(Effect.catchTag("RedisUnavailable", (e) => Effect.logWarning(e.message)))
 * ```
 * @since 0.1.0
 */
export class RedisUnavailable extends Schema.TaggedError<RedisUnavailable>()("RedisUnavailable", {
  operation: Schema.String,
  message: Schema.String
}) {}

/**
 * The definition is not in the transport's `definitions`: it has no stream.
 *
 * @example
 * ```ts
 * import { RedisErrors } from "@eventfabric/redis"
 * new RedisErrors.UnroutedEvent({ type: "orders.placed" }).message
 * ```
 * @since 0.1.0
 */
export class UnroutedEvent extends Schema.TaggedError<UnroutedEvent>()("UnroutedEvent", {
  type: Schema.String
}) {
  override get message() {
    return `${this.type} is not routed to Redis (add its definition to the transport's definitions)`
  }
}
