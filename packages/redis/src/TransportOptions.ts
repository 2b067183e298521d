/**
 * Options of the Redis transport, decoded by Schema: a bad value fails the
 * layer with `InvalidOptions` naming the path and the expectation.
 *
 * @since 0.1.0
 */
import { Event, Options } from "@eventfabric/core"
import type { Transport } from "@eventfabric/transport"
import { Duration, Schema } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const NonEmpty = Schema.String.check(Schema.isNonEmpty())
const Key = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9:_.{}-]+$/, { expected: "a Redis key part (letters, digits, : _ . { } -)" })
)
const PatternString = Schema.String.check(
  Schema.isPattern(/^(\*\*|\*|[a-z0-9_]+)(\.(\*\*|\*|[a-z0-9_]+))*$/, {
    expected: `an event pattern such as "orders.*" or "**"`
  })
)
const DefinitionSchema = Schema.declare(Event.isDefinition, { expected: "an event definition (Event.define)" })
const EncodeSchema = Schema.declare((u: unknown): u is Transport.Encode => typeof u === "function", {
  expected: "a function from envelope to envelope"
})

/**
 * The options as a Schema.
 *
 * - `definitions`: the events routed to Redis; one stream each, `<prefix>:<type>`.
 *   `publish` accepts only these; the consumer decodes with their Schemas.
 * - `consume`: patterns selecting which of `definitions` this process consumes
 *   (default: all of them). Only with `group`.
 * - `group`: the consumer group (one per service). Without it the transport
 *   only publishes.
 * - `consumer`: this process's name in the group (default `<host>-<pid>-<random>`).
 * - `maxLen`: approximate `MAXLEN` of each stream (default 100 000).
 * - `readCount` / `block`: `XREADGROUP` batch size (512, at most `maxInFlight`) and block time (1 s).
 * - `claimIdle` / `claimInterval`: entries pending longer than `claimIdle`
 *   (30 s) are taken over with `XAUTOCLAIM`, checked every `claimInterval` (5 s).
 *   Keep `claimIdle` above the handlers' timeout.
 * - `maxDeliveries`: past this many deliveries an entry goes to the DLQ (5).
 * - `maxInFlight`: entries handled at once by this consumer (1024).
 * - `dedup`: `{ window }` turns on cross-process duplicate suppression per group.
 * - `startFrom`: where a new group starts: `"earliest"` (retained history) or `"latest"`.
 * - `publishBuffer`: publishes waiting for Redis or in flight (10 000); one more
 *   fails at once with `PublishBufferFull`. Nothing is buffered without bound.
 * - `publishBatch`: most entries appended in one round trip (512). Concurrent
 *   publishes are batched while the previous batch is in flight; a lone
 *   publish is written at once.
 * - `publishTimeout` (5 s, per batch), `shutdownGrace` (5 s), `reconnect` backoff (`base` 100 ms, `max` 5 s).
 * - `redelivery`: backoff of an entry whose local delivery failed (nack), by
 *   delivery count (`base` 200 ms, `max` 10 s; never later than `claimIdle`).
 * - `beforeEncode`: a step on every envelope before it is encoded (redaction
 *   at the boundary).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 * import { TransportOptions } from "@eventfabric/redis"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ id: Schema.String }) })
 * Schema.decodeUnknownSync(TransportOptions.TransportOptions)({ definitions: [Placed], group: "billing" })
 * ```
 * @since 0.1.0
 */
export const TransportOptions = Schema.Struct({
  definitions: Schema.Array(DefinitionSchema).check(Schema.isMinLength(1)),
  prefix: Schema.optional(Key.check(Schema.isNonEmpty())),
  group: Schema.optional(Key.check(Schema.isNonEmpty())),
  consumer: Schema.optional(NonEmpty),
  consume: Schema.optional(Schema.Array(PatternString)),
  maxLen: Schema.optional(PositiveInt),
  readCount: Schema.optional(PositiveInt),
  block: Schema.optional(Options.DurationInput),
  claimIdle: Schema.optional(Options.DurationInput),
  claimInterval: Schema.optional(Options.DurationInput),
  maxDeliveries: Schema.optional(PositiveInt),
  maxInFlight: Schema.optional(PositiveInt),
  dedup: Schema.optional(Schema.Struct({ window: Options.DurationInput })),
  startFrom: Schema.optional(Schema.Literals(["earliest", "latest"])),
  publishBuffer: Schema.optional(PositiveInt),
  publishBatch: Schema.optional(PositiveInt),
  publishTimeout: Schema.optional(Options.DurationInput),
  shutdownGrace: Schema.optional(Options.DurationInput),
  reconnect: Schema.optional(Schema.Struct({ base: Options.DurationInput, max: Options.DurationInput })),
  redelivery: Schema.optional(Schema.Struct({ base: Options.DurationInput, max: Options.DurationInput })),
  beforeEncode: Schema.optional(EncodeSchema)
})

/**
 * The options as a caller writes them.
 *
 * @since 0.1.0
 */
export type TransportOptions = typeof TransportOptions.Encoded

/**
 * The options with every default filled in.
 *
 * @since 0.1.0
 */
export interface Resolved {
  readonly definitions: ReadonlyArray<Event.Definition>
  readonly prefix: string
  readonly group: string | undefined
  readonly consumer: string
  readonly consume: ReadonlyArray<string>
  readonly maxLen: number
  readonly readCount: number
  readonly block: Duration.Duration
  readonly claimIdle: Duration.Duration
  readonly claimInterval: Duration.Duration
  readonly maxDeliveries: number
  readonly maxInFlight: number
  readonly dedup: { readonly window: Duration.Duration } | undefined
  readonly startFrom: "earliest" | "latest"
  readonly publishBuffer: number
  readonly publishBatch: number
  readonly publishTimeout: Duration.Duration
  readonly shutdownGrace: Duration.Duration
  readonly reconnect: { readonly base: Duration.Duration; readonly max: Duration.Duration }
  readonly redelivery: { readonly base: Duration.Duration; readonly max: Duration.Duration }
  readonly beforeEncode: Transport.Encode | undefined
}

/**
 * Fills in the defaults of decoded options.
 *
 * @example
 * ```ts
 * import { TransportOptions } from "@eventfabric/redis"
 * declare const decoded: typeof TransportOptions.TransportOptions.Type
 * TransportOptions.resolve(decoded, "host-1").maxLen // 100000 unless set
 * ```
 * @since 0.1.0
 */
export const resolve = (options: typeof TransportOptions.Type, defaultConsumer: string): Resolved => ({
  definitions: options.definitions,
  prefix: options.prefix ?? "eventfabric",
  group: options.group,
  consumer: options.consumer ?? defaultConsumer,
  consume: options.consume ?? ["**"],
  maxLen: options.maxLen ?? 100_000,
  readCount: options.readCount ?? 512,
  block: options.block ?? Duration.seconds(1),
  claimIdle: options.claimIdle ?? Duration.seconds(30),
  claimInterval: options.claimInterval ?? Duration.seconds(5),
  maxDeliveries: options.maxDeliveries ?? 5,
  maxInFlight: options.maxInFlight ?? 1024,
  dedup: options.dedup,
  startFrom: options.startFrom ?? "earliest",
  publishBuffer: options.publishBuffer ?? 10_000,
  publishBatch: options.publishBatch ?? 512,
  publishTimeout: options.publishTimeout ?? Duration.seconds(5),
  shutdownGrace: options.shutdownGrace ?? Duration.seconds(5),
  reconnect: options.reconnect ?? { base: Duration.millis(100), max: Duration.seconds(5) },
  redelivery: options.redelivery ?? { base: Duration.millis(200), max: Duration.seconds(10) },
  beforeEncode: options.beforeEncode
})
