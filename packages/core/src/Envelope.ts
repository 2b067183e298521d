/**
 * The envelope: what travels through lanes, mailboxes, the DLQ and transports.
 *
 * @since 0.1.0
 */
import { type Duration, Schema } from "effect"
import { type Definition, EventName, type PayloadSchema, Priority } from "./Event.ts"
import { uuidv7 } from "./internal/id.ts"

/**
 * An event in flight. `payload` is typed by the definition it was published
 * with; `attempt` starts at 1 and advances on each redelivery.
 *
 * @since 0.1.0
 */
export interface Envelope<A = unknown, Name extends string = string> {
  readonly id: string
  readonly type: Name
  readonly payload: A
  readonly priority: Priority
  /** Epoch milliseconds, read from the bus's `Clock`. */
  readonly publishedAt: number
  readonly attempt: number
  readonly source?: string | undefined
  readonly correlationId?: string | undefined
  readonly causationId?: string | undefined
  readonly traceparent?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

const fields = {
  id: Schema.String.check(Schema.isNonEmpty()),
  type: EventName,
  priority: Priority,
  publishedAt: Schema.Number.check(Schema.isFinite()),
  attempt: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  source: Schema.optional(Schema.String),
  correlationId: Schema.optional(Schema.String),
  causationId: Schema.optional(Schema.String),
  traceparent: Schema.optional(Schema.String),
  headers: Schema.optional(Schema.Record(Schema.String, Schema.String))
}

/**
 * The envelope Schema for a given payload Schema, for encoding to JSON and
 * decoding what comes back (Redis, the DLQ, audit lines).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Envelope } from "@eventfabric/core"
 *
 * const Json = Schema.fromJsonString(Envelope.schema(Schema.Struct({ orderId: Schema.String })))
 * ```
 * @since 0.1.0
 */
export const schema = <S extends PayloadSchema>(payload: S) => Schema.Struct({ ...fields, payload })

/**
 * The envelope Schema with an opaque payload: enough to read the type and route.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Envelope } from "@eventfabric/core"
 *
 * const decode = Schema.decodeUnknownEffect(Envelope.Any)
 * ```
 * @since 0.1.0
 */
export const Any = schema(Schema.Unknown)

/**
 * A new envelope id: a UUIDv7 for the given epoch-millisecond time, sortable
 * by time and monotonic within the process. Transports that mint envelopes use
 * it so ids look the same everywhere.
 *
 * @example
 * ```ts
 * import { Envelope } from "@eventfabric/core"
 * const id = Envelope.makeId(Date.now())
 * ```
 * @since 0.1.0
 */
export const makeId = (epochMillis: number): string => uuidv7(epochMillis)

/**
 * Optional envelope fields a publisher may set.
 *
 * @since 0.1.0
 */
export interface PublishOptions {
  readonly source?: string | undefined
  readonly correlationId?: string | undefined
  readonly causationId?: string | undefined
  readonly traceparent?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Overrides the definition's default priority for this event. */
  readonly priority?: Priority | undefined
  /**
   * Keep an identity made elsewhere: a transport republishing an envelope it
   * received sets `id`, `publishedAt` and `attempt` from that envelope.
   */
  readonly id?: string | undefined
  readonly publishedAt?: number | undefined
  readonly attempt?: number | undefined
  /**
   * Hold the event in the bus's schedule for this long before it is
   * published (`"5 seconds"`, millis, a `Duration`). With `at` too, the later wins.
   */
  readonly delay?: Duration.Input | undefined
  /** Hold the event until this time (a `Date` or epoch milliseconds, on the bus's `Clock`). */
  readonly at?: Date | number | undefined
}

/**
 * The publish options that keep an envelope's identity and context: a
 * transport or a schedule republishing an envelope it holds passes these, so
 * the bus makes the same envelope again (id, time, attempt, priority, ids,
 * trace, headers).
 *
 * @example
 * ```ts
 * import { Envelope } from "@eventfabric/core"
 * declare const received: Envelope.Envelope
 * const options = { ...Envelope.identity(received), attempt: received.attempt + 1 }
 * ```
 * @since 0.2.0
 */
export const identity = (envelope: Envelope): PublishOptions => ({
  id: envelope.id,
  publishedAt: envelope.publishedAt,
  attempt: envelope.attempt,
  priority: envelope.priority,
  source: envelope.source,
  correlationId: envelope.correlationId,
  causationId: envelope.causationId,
  traceparent: envelope.traceparent,
  headers: envelope.headers
})

const describe = (u: unknown): string => {
  if (u === null) return "null"
  if (typeof u === "string") return JSON.stringify(u)
  return typeof u
}

/**
 * Why `publish(definition, payload, options)` cannot build an envelope, or
 * `undefined` when it can: a definition not made by `Event.define`, options
 * that are not an object, a priority that names no lane. The message names
 * the path, like Schema's; the bus answers it with `InvalidEvent`.
 *
 * @example
 * ```ts
 * import { Envelope } from "@eventfabric/core"
 * Envelope.problem(null, undefined) // "Expected an event definition made by Event.define, got null\n  at [\"definition\"]"
 * ```
 * @since 0.1.0
 */
export const problem = (definition: unknown, options: unknown): string | undefined => {
  if (
    typeof definition !== "object" ||
    definition === null ||
    (definition as { _tag?: unknown })._tag !== "EventDefinition" ||
    typeof (definition as { name?: unknown }).name !== "string"
  ) {
    return `Expected an event definition made by Event.define, got ${describe(definition)}\n  at ["definition"]`
  }
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    return `Expected publish options (an object) or undefined, got ${describe(options)}\n  at ["options"]`
  }
  const override = (options as PublishOptions | undefined)?.priority
  if (override !== undefined && !isPriority(override)) {
    return `Expected "critical" | "normal" | "low", got ${describe(override)}\n  at ["options"]["priority"]`
  }
  const priority = (definition as Definition).priority
  if (override === undefined && !isPriority(priority)) {
    return `Expected "critical" | "normal" | "low", got ${describe(priority)}\n  at ["definition"]["priority"]`
  }
  return undefined
}

const isPriority = (u: unknown) => u === "critical" || u === "normal" || u === "low"

/**
 * Builds the envelope of a new event at time `now` (epoch milliseconds):
 * a fresh id unless the options carry one, attempt 1, the definition's
 * priority unless overridden. Every key is present (`undefined` when unset),
 * so all envelopes share one shape.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Envelope, Event } from "@eventfabric/core"
 * const Ping = Event.define("health.ping", { payload: Schema.Struct({ n: Schema.Number }) })
 * const envelope = Envelope.make(Ping, { n: 1 }, { source: "probe" }, Date.now())
 * ```
 * @since 0.1.0
 */
export const make = <D extends Definition>(
  definition: D,
  payload: D["payload"]["Type"],
  options: PublishOptions | undefined,
  now: number
): Envelope<D["payload"]["Type"], D["name"]> => ({
  id: options?.id ?? uuidv7(now),
  type: definition.name,
  payload,
  priority: options?.priority ?? definition.priority,
  publishedAt: options?.publishedAt ?? now,
  attempt: options?.attempt ?? 1,
  source: options?.source,
  correlationId: options?.correlationId,
  causationId: options?.causationId,
  traceparent: options?.traceparent,
  headers: options?.headers
})
