/**
 * The typed errors of publishing and of configuring a bus.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Priority } from "./Event.ts"

/**
 * A lane with the `fail` strategy was full. The event was not enqueued and is
 * counted `dropped` on that lane.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * declare const publish: Effect.Effect<void, import("@eventfabric/core").Errors.BackpressureError>
 * publish.pipe(Effect.catchTag("BackpressureError", (e) => Effect.log(`lane ${e.lane} full`)))
 * ```
 * @since 0.1.0
 */
export class BackpressureError extends Schema.TaggedError<BackpressureError>()("BackpressureError", {
  lane: Priority,
  capacity: Schema.Number,
  type: Schema.String
}) {
  override get message() {
    return `lane ${this.lane} is full (capacity ${this.capacity}); ${this.type} not enqueued`
  }
}

/**
 * The bus is shutting down or closed: it takes no new events.
 *
 * @example
 * ```ts
 * import { Errors } from "@eventfabric/core"
 * new Errors.BusClosedError({ type: "orders.placed" }).message
 * ```
 * @since 0.1.0
 */
export class BusClosedError extends Schema.TaggedError<BusClosedError>()("BusClosedError", {
  type: Schema.String
}) {
  override get message() {
    return `the bus is closed; ${this.type} not published`
  }
}

/**
 * An event refused at admission: an invalid payload, an unknown type, a name
 * outside the allowed domains. `message` is Schema's, with the path. Counted
 * `rejected`.
 *
 * @example
 * ```ts
 * import { Errors } from "@eventfabric/core"
 * new Errors.InvalidEvent({ type: "orders.placed", message: "Expected number\n  at [\"total\"]" })
 * ```
 * @since 0.1.0
 */
export class InvalidEvent extends Schema.TaggedError<InvalidEvent>()("InvalidEvent", {
  type: Schema.String,
  message: Schema.String
}) {}

/**
 * A bad option value for the bus, a subscription or a plugin. `message` is
 * Schema's, naming the path and the expectation.
 *
 * @example
 * ```ts
 * import { Errors } from "@eventfabric/core"
 * new Errors.InvalidOptions({ target: "EventBus", message: "Expected a value greater than 0\n  at [\"maxConcurrentHandlers\"]" })
 * ```
 * @since 0.1.0
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  target: Schema.String,
  message: Schema.String
}) {}

/**
 * A delayed publish (`{ delay }` / `{ at }`) found the bus's schedule full
 * (`schedule.capacity`). Nothing was held; counted `scheduled.overflowed`.
 *
 * @example
 * ```ts
 * import { Errors } from "@eventfabric/core"
 * new Errors.ScheduleFullError({ type: "orders.reminder", capacity: 10_000 }).message
 * ```
 * @since 0.2.0
 */
export class ScheduleFullError extends Schema.TaggedError<ScheduleFullError>()("ScheduleFullError", {
  type: Schema.String,
  capacity: Schema.Number
}) {
  override get message() {
    return `the schedule holds ${this.capacity} delayed events; ${this.type} not scheduled`
  }
}

/**
 * Everything `publish` can fail with.
 *
 * @since 0.1.0
 */
export type PublishError = BackpressureError | BusClosedError | InvalidEvent | ScheduleFullError
