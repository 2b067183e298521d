/**
 * The typed errors of the Redis transport.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * Redis did not answer (down, unreachable, timed out). The transport does not
 * buffer while Redis is down, so the caller decides whether to retry, drop or
 * fail. Down or unreachable: nothing was written. Timed out (`publishTimeout`):
 * the write may still land, so a retry can append the event twice (delivery is
 * at least once anyway; a consumer with `dedup` handles it once).
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

/**
 * The publisher's buffer is full: `publishBuffer` publishes are already
 * waiting for Redis (a slow or stalled Redis, or more concurrent publishers
 * than the buffer holds). Nothing was written; the transport never buffers
 * without bound, so the caller decides whether to retry later, drop or fail.
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { RedisErrors } from "@eventfabric/redis"
 *
 * declare const publish: Effect.Effect<void, RedisErrors.PublishBufferFull>
 * publish.pipe(Effect.retry({ while: (e) => e._tag === "PublishBufferFull", schedule: Schedule.spaced("10 millis"), times: 5 }))
 * ```
 * @since 0.1.0
 */
export class PublishBufferFull extends Schema.TaggedError<PublishBufferFull>()("PublishBufferFull", {
  capacity: Schema.Int
}) {
  override get message() {
    return `${this.capacity} publishes are already waiting for Redis (publishBuffer); nothing was written`
  }
}
