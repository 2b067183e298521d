/**
 * Bus options, decoded by Schema: a bad value fails the layer with the path
 * and the expectation.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schema } from "effect"
import { InvalidOptions } from "./Errors.ts"

/**
 * What a full lane does with one more event.
 *
 * - `suspend`: the publisher waits for room (backpressure; nothing lost).
 * - `dropping`: the new event is refused, receipt `dropped`.
 * - `sliding`: the oldest queued event is evicted (counted `evicted`).
 * - `fail`: publish fails with `BackpressureError`.
 *
 * @since 0.1.0
 */
export const Strategy = Schema.Literals(["suspend", "dropping", "sliding", "fail"])

/**
 * @since 0.1.0
 */
export type Strategy = typeof Strategy.Type

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/**
 * The largest lane, mailbox or stream buffer: 2^24 entries. Buffers are
 * allocated up front, and a capacity such as 2^32 is a typo, not a plan.
 *
 * @since 0.1.0
 */
export const maxCapacity = 2 ** 24

const Capacity = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: maxCapacity }))

/**
 * A duration given as a `Duration`, a number of milliseconds or a string such
 * as `"5 seconds"`.
 *
 * @since 0.1.0
 */
export const DurationInput = Schema.Union([Schema.Duration, Schema.DurationFromMillis, Schema.DurationFromString])

/**
 * One lane: a bounded queue with an overflow strategy.
 *
 * @since 0.1.0
 */
export const LaneOptions = Schema.Struct({
  capacity: Capacity,
  strategy: Strategy
})

/**
 * @since 0.1.0
 */
export type LaneOptions = typeof LaneOptions.Type

const NeverDrops = Schema.Struct({
  capacity: Capacity,
  strategy: Schema.Literals(["suspend", "fail"]).annotate({
    expected: `"suspend" or "fail" (CRITICAL never drops)`
  })
})

/**
 * The defaults, chosen so that nothing is lost unless asked for:
 * CRITICAL and NORMAL apply backpressure, LOW (telemetry, debug) keeps the
 * freshest events when it overflows.
 *
 * @since 0.1.0
 */
export const defaults = {
  lanes: {
    critical: { capacity: 1024, strategy: "suspend" },
    normal: { capacity: 8192, strategy: "suspend" },
    low: { capacity: 8192, strategy: "sliding" }
  },
  weights: { normal: 4, low: 1 },
  maxConcurrentHandlers: 100,
  timeout: Duration.seconds(30),
  mailbox: 1024,
  shutdownGrace: Duration.seconds(5)
} as const

const busOptions = <D extends Schema.Codec<Duration.Duration, any, never, never>>(duration: D) =>
  Schema.Struct({
    lanes: Schema.optional(
      Schema.Struct({
        critical: Schema.optional(NeverDrops),
        normal: Schema.optional(LaneOptions),
        low: Schema.optional(LaneOptions)
      })
    ),
    /** NORMAL:LOW dispatch ratio while both have events. */
    weights: Schema.optional(Schema.Struct({ normal: PositiveInt, low: PositiveInt })),
    /** Handlers running at once, across all subscriptions. */
    maxConcurrentHandlers: Schema.optional(PositiveInt),
    /** Default handler timeout for subscriptions that set none. */
    timeout: Schema.optional(duration),
    /** Default mailbox capacity for subscriptions that set none. */
    mailbox: Schema.optional(Capacity),
    /** How long shutdown waits for lanes and mailboxes to drain. */
    shutdownGrace: Schema.optional(duration)
  })

/**
 * The bus's options as a Schema. Every field is optional; missing ones take
 * the `defaults`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Options } from "@eventfabric/core"
 *
 * Schema.decodeUnknownSync(Options.BusOptions)({ lanes: { low: { capacity: 100, strategy: "dropping" } } })
 * ```
 * @since 0.1.0
 */
export const BusOptions = busOptions(DurationInput)

/**
 * The same options as read from `Config` (environment variables): durations
 * are strings such as `"30 seconds"`.
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { Options } from "@eventfabric/core"
 * const options = Config.schema(Options.BusConfig, "eventfabric")
 * ```
 * @since 0.1.0
 */
export const BusConfig = busOptions(Schema.DurationFromString)

/**
 * The options as a caller writes them.
 *
 * @since 0.1.0
 */
export type BusOptions = typeof BusOptions.Encoded

/**
 * The options with every default filled in.
 *
 * @since 0.1.0
 */
export interface Resolved {
  readonly lanes: { readonly critical: LaneOptions; readonly normal: LaneOptions; readonly low: LaneOptions }
  readonly weights: { readonly normal: number; readonly low: number }
  readonly maxConcurrentHandlers: number
  readonly timeout: Duration.Duration
  readonly mailbox: number
  readonly shutdownGrace: Duration.Duration
}

/**
 * Fills in the defaults of decoded options.
 *
 * @example
 * ```ts
 * import { Options } from "@eventfabric/core"
 * Options.resolve({}).lanes.critical.strategy // "suspend"
 * ```
 * @since 0.1.0
 */
export const resolve = (options: typeof BusOptions.Type): Resolved => ({
  lanes: {
    critical: options.lanes?.critical ?? defaults.lanes.critical,
    normal: options.lanes?.normal ?? defaults.lanes.normal,
    low: options.lanes?.low ?? defaults.lanes.low
  },
  weights: options.weights ?? defaults.weights,
  maxConcurrentHandlers: options.maxConcurrentHandlers ?? defaults.maxConcurrentHandlers,
  timeout: options.timeout ?? defaults.timeout,
  mailbox: options.mailbox ?? defaults.mailbox,
  shutdownGrace: options.shutdownGrace ?? defaults.shutdownGrace
})

/**
 * A subscription's mailbox: a capacity (per lane), or a capacity and what a
 * full mailbox does with one more delivery.
 *
 * - `suspend`: the dispatcher stops taking from that delivery's lane until
 *   there is room, so the lane fills and its publishers wait (nothing lost).
 * - `dropping`: the new delivery is refused, counted `overflowed`.
 * - `sliding`: the oldest waiting delivery is refused, counted `overflowed`.
 * - `fail`: the new delivery fails with `Overflow`, counted `overflowed` and
 *   reported as `system.handler_error`.
 *
 * @since 0.2.0
 */
export const MailboxOptions = Schema.Union([
  Capacity,
  Schema.Struct({ capacity: Schema.optional(Capacity), strategy: Schema.optional(Strategy) })
])

/**
 * @since 0.2.0
 */
export type MailboxOptions = typeof MailboxOptions.Type

const isFunction = (u: unknown): u is (...args: ReadonlyArray<any>) => unknown => typeof u === "function"

/**
 * A function-valued option (`filter`, `orderBy`).
 *
 * @since 0.2.0
 */
export const FunctionOption = Schema.declare(isFunction, { expected: "a function" })

/**
 * Per-subscription options.
 *
 * @since 0.1.0
 */
export const SubscribeOptions = Schema.Struct({
  /** Unique among live subscriptions; the DLQ and stats refer to it. */
  name: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  /** Deliveries running at once for this subscription; 1 keeps lane order. */
  concurrency: Schema.optional(PositiveInt),
  timeout: Schema.optional(DurationInput),
  /**
   * Deliveries waiting for this subscription, per lane: a capacity, or a
   * capacity and a strategy (default: the delivery's lane's strategy).
   */
  mailbox: Schema.optional(MailboxOptions),
  /** Only envelopes for which this returns true are delivered. */
  filter: Schema.optional(FunctionOption),
  /** Keyed order: one key's events in publish order, keys in parallel. */
  orderBy: Schema.optional(FunctionOption)
})

/**
 * Options of `events`: the subscription's name and the stream's buffer.
 *
 * @since 0.1.0
 */
export const EventsOptions = Schema.Struct({
  name: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  capacity: Schema.optional(Capacity)
})

/**
 * Decodes options with Schema (all issues reported). A failure is an
 * `InvalidOptions` whose message is Schema's, naming each path and
 * expectation. Plugins decode their configs with it too.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Options } from "@eventfabric/core"
 *
 * const config = Options.decode(Schema.Struct({ times: Schema.Int }), "Retry", { times: 3 })
 * ```
 * @since 0.1.0
 */
export const decode = <S extends Schema.Codec<any, any, never, never>>(
  schema: S,
  target: string,
  input: unknown
): Effect.Effect<S["Type"], InvalidOptions> =>
  Schema.decodeUnknownEffect(schema)(input ?? {}, { errors: "all" }).pipe(
    Effect.mapError((error) => new InvalidOptions({ target, message: error.message }))
  )
