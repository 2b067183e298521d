/**
 * The typed errors of the NATS JetStream transport.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The NATS server could not be reached (connect failed, connection closed or
 * reconnecting). Nothing was stored.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NatsErrors } from "@eventfabric/nats"
 * declare const publish: Effect.Effect<void, NatsErrors.NatsUnavailableError>
 * publish.pipe(Effect.catchTag("NatsUnavailableError", (e) => Effect.logWarning(e.message)))
 * ```
 * @since 0.1.0
 */
export class NatsUnavailableError extends Schema.TaggedError<NatsUnavailableError>()("NatsUnavailableError", {
  operation: Schema.String,
  message: Schema.String
}) {}

/**
 * The JetStream stream does not exist (and the transport was told not to
 * create it), or no stream captures the event's subject.
 *
 * @example
 * ```ts
 * import { NatsErrors } from "@eventfabric/nats"
 * new NatsErrors.StreamMissingError({ stream: "EVENTS", message: "stream not found" }).stream
 * ```
 * @since 0.1.0
 */
export class StreamMissingError extends Schema.TaggedError<StreamMissingError>()("StreamMissingError", {
  stream: Schema.String,
  message: Schema.String
}) {}

/**
 * The server did not acknowledge the publish within `publishTimeout`, or
 * refused it. The message may still have been stored: publishing the same
 * envelope again (same id) is safe inside the stream's duplicate window.
 *
 * @example
 * ```ts
 * import { NatsErrors } from "@eventfabric/nats"
 * new NatsErrors.PublishNotAcknowledgedError({ type: "orders.placed", message: "timeout" }).message
 * ```
 * @since 0.1.0
 */
export class PublishNotAcknowledgedError extends Schema.TaggedError<PublishNotAcknowledgedError>()(
  "PublishNotAcknowledgedError",
  { type: Schema.String, message: Schema.String }
) {}

/**
 * `publishBuffer` publishes already wait for their acknowledgement. Nothing
 * was sent; the caller decides whether to retry later, drop or fail.
 *
 * @example
 * ```ts
 * import { NatsErrors } from "@eventfabric/nats"
 * new NatsErrors.PublishBufferFullError({ capacity: 10_000 }).message
 * ```
 * @since 0.1.0
 */
export class PublishBufferFullError extends Schema.TaggedError<PublishBufferFullError>()("PublishBufferFullError", {
  capacity: Schema.Int
}) {
  override get message() {
    return `${this.capacity} publishes are already waiting for JetStream (publishBuffer); nothing was sent`
  }
}

/**
 * The definition is not in the transport's `definitions`: it has no subject.
 *
 * @example
 * ```ts
 * import { NatsErrors } from "@eventfabric/nats"
 * new NatsErrors.UnroutedEventError({ type: "orders.placed" }).message
 * ```
 * @since 0.1.0
 */
export class UnroutedEventError extends Schema.TaggedError<UnroutedEventError>()("UnroutedEventError", {
  type: Schema.String
}) {
  override get message() {
    return `${this.type} is not routed to NATS (add its definition to the transport's definitions)`
  }
}
