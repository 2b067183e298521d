/**
 * Event definitions: a name, a payload Schema and a default priority.
 *
 * Publishing and subscribing take definitions, so payload types flow from the
 * definition to every handler.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The three lanes of the bus, most urgent first.
 *
 * @example
 * ```ts
 * import { Event } from "@eventfabric/core"
 * const p: Event.Priority = "critical"
 * ```
 * @since 0.1.0
 */
export const Priority = Schema.Literals(["critical", "normal", "low"])

/**
 * @since 0.1.0
 */
export type Priority = typeof Priority.Type

/**
 * Lanes in dispatch order.
 *
 * @since 0.1.0
 */
export const priorities: ReadonlyArray<Priority> = ["critical", "normal", "low"]

/**
 * Event names are `domain.action`: lowercase segments of letters, digits and
 * `_`, at least two of them, separated by dots.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 * Schema.decodeUnknownSync(Event.EventName)("orders.placed")
 * ```
 * @since 0.1.0
 */
export const EventName = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, {
    expected: "an event name of the form domain.action (lowercase letters, digits, _)"
  })
)

/**
 * The type-level half of the naming rule: `"orders.placed"` passes,
 * `"OrdersPlaced"`, `"orders."` and `".placed"` do not compile.
 *
 * @since 0.1.0
 */
export type ValidName<N extends string> = string extends N
  ? N
  : N extends `${infer D}.${infer A}`
    ? D extends ""
      ? never
      : A extends "" | `.${string}` | `${string}.`
        ? never
        : N extends Lowercase<N>
          ? N
          : never
    : never

/**
 * A payload Schema that needs no services to decode or encode.
 *
 * @since 0.1.0
 */
export type PayloadSchema = Schema.Codec<any, any, never, never>

/**
 * What `Event.define` returns: the unit that publishing and subscribing take.
 *
 * @since 0.1.0
 */
export interface Definition<Name extends string = string, S extends PayloadSchema = PayloadSchema> {
  readonly _tag: "EventDefinition"
  readonly name: Name
  readonly payload: S
  readonly priority: Priority
  /**
   * Dedup key; without it, dedup hashes type, source and payload. Typed by
   * `define`; kept loose here so definitions stay covariant in their schema.
   */
  readonly key: ((payload: any) => string) | undefined
  /** Marks telemetry-like events that a batching plugin may deliver in batches. */
  readonly batchable: boolean
}

/**
 * The payload type of a definition.
 *
 * @since 0.1.0
 */
export type Payload<D> = D extends Definition<any, infer S> ? S["Type"] : never

/**
 * The name of a definition.
 *
 * @since 0.1.0
 */
export type Name<D> = D extends Definition<infer N, any> ? N : never

/**
 * Defines an event type. The name is checked at compile time (literal names)
 * and at runtime; a bad name throws a `SchemaError` naming the expectation, at
 * module load rather than at the first publish.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 *
 * const OrderPlaced = Event.define("orders.placed", {
 *   payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number }),
 *   priority: "normal",
 *   key: (p) => p.orderId
 * })
 * ```
 * @since 0.1.0
 */
export const define = <const N extends string, S extends PayloadSchema>(
  name: N & ValidName<N>,
  options: {
    readonly payload: S
    readonly priority?: Priority | undefined
    readonly key?: ((payload: S["Type"]) => string) | undefined
    readonly batchable?: boolean | undefined
  }
): Definition<N, S> => {
  const decodedName = Schema.decodeUnknownSync(EventName)(name) as N
  // Decoded here, at module load, like the name: a bad value never reaches a lane.
  const decoded = decodeDefineOptions(options)
  return {
    _tag: "EventDefinition",
    name: decodedName,
    payload: options.payload,
    priority: decoded.priority ?? "normal",
    key: options.key,
    batchable: decoded.batchable ?? false
  }
}

const DefineOptions = Schema.Struct({
  payload: Schema.declare((u): u is PayloadSchema => Schema.isSchema(u), { expected: "a payload Schema" }),
  priority: Schema.optional(Priority),
  key: Schema.optional(
    Schema.declare((u): u is (payload: unknown) => string => typeof u === "function", { expected: "a function" })
  ),
  batchable: Schema.optional(Schema.Boolean)
})

const decodeDefineOptions = Schema.decodeUnknownSync(DefineOptions)

/**
 * True for values made by `define`.
 *
 * @example
 * ```ts
 * import { Event } from "@eventfabric/core"
 * Event.isDefinition({}) // false
 * ```
 * @since 0.1.0
 */
export const isDefinition = (u: unknown): u is Definition =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "EventDefinition"

const BusSummary = Schema.Struct({
  published: Schema.Number,
  system: Schema.Number,
  queued: Schema.Number,
  inFlight: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  interrupted: Schema.Number,
  abandoned: Schema.Number,
  discarded: Schema.Number
})

/**
 * Recorded (never published) when the bus begins to shut down: written
 * straight to the log and to plugins' record sinks (Audit), so that a full
 * lane can never hold the record up.
 *
 * @example
 * ```ts
 * import { Event } from "@eventfabric/core"
 * Event.BusStopping.name // "system.bus_stopping"
 * ```
 * @since 0.1.0
 */
export const BusStopping = define("system.bus_stopping", { payload: BusSummary, priority: "critical" })

/**
 * Recorded (never published) once the bus has stopped, with the final counts:
 * what was interrupted, abandoned (handlers that would not stop) and discarded.
 *
 * @example
 * ```ts
 * import { Event } from "@eventfabric/core"
 * Event.BusStopped.name // "system.bus_stopped"
 * ```
 * @since 0.1.0
 */
export const BusStopped = define("system.bus_stopped", { payload: BusSummary, priority: "critical" })

/**
 * Published on the CRITICAL lane each time a delivery fails, times out or
 * overflows a mailbox, so that no failure goes unseen.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, EventBus } from "@eventfabric/core"
 *
 * const alerts = Effect.gen(function*() {
 *   const bus = yield* EventBus.EventBus
 *   yield* bus.subscribe(Event.HandlerFailed, (e) => Effect.logError(e.payload.cause))
 * })
 * ```
 * @since 0.1.0
 */
export const HandlerFailed = define("system.handler_error", {
  payload: Schema.Struct({
    subscription: Schema.String,
    eventId: Schema.String,
    eventType: Schema.String,
    reason: Schema.String,
    attempt: Schema.Number,
    /** The first failure's cause, rendered. */
    cause: Schema.String,
    /**
     * Failures of this subscription this report stands for: a storm is
     * reported once per subscription per interval, with the first cause.
     */
    count: Schema.Number
  }),
  priority: "critical"
})
