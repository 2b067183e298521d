/**
 * Options of the NATS JetStream transport, decoded by Schema: a bad value
 * fails the layer with `InvalidOptions` naming the path and the expectation.
 *
 * @since 0.1.0
 */
import { Event, Options } from "@eventfabric/core"
import type { Transport } from "@eventfabric/transport"
import { Duration, Schema } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const Token = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_-]+$/, { expected: "a NATS name (letters, digits, _ -)" })
)
const SubjectToken = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, { expected: "a subject prefix (tokens separated by .)" })
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
 * Where a new consumer group starts: `"first"` (every message the stream
 * keeps: rebuild state from history), `"new"` (only what is published from
 * now), `{ sequence }` (from that stream sequence on) or `{ time }` (from the
 * first message stored at or after that epoch-millisecond time). It applies
 * when the group's durable consumer is created; an existing group resumes
 * where it left off.
 *
 * @since 0.1.0
 */
export const StartFrom = Schema.Union([
  Schema.Literals(["first", "new"]),
  Schema.Struct({ sequence: PositiveInt }),
  Schema.Struct({ time: Schema.Number.check(Schema.isFinite()) })
])

/**
 * The options as a Schema.
 *
 * - `definitions`: the events routed to NATS; `<subjectPrefix>.<type>` each.
 * - `stream`: the JetStream stream holding them (default `EVENTFABRIC`),
 *   capturing `<subjectPrefix>.>`; created when missing unless
 *   `createStream: false` (then a missing stream is `StreamMissingError`).
 * - `storage`: `"file"` (default: survives a server restart) or `"memory"`.
 * - `duplicateWindow`: publishes of one envelope id inside it are stored once (2 min).
 * - `maxMessages` / `maxAge`: the stream's retention (1 000 000 / 7 days).
 * - `group`: the consumer group, a durable consumer (one per service).
 * - `consume`: patterns of `definitions` to consume (default all).
 * - `startFrom`: see {@link StartFrom} (default `"first"`).
 * - `maxDeliveries` (5): past this many deliveries a message goes to the DLQ.
 * - `ackWait` (30 s): unacknowledged this long, the server redelivers; a
 *   handler running longer keeps its message with in-progress signals sent
 *   every `ackWait / 3`.
 * - `redelivery` backoff of a nacked message (`base` 200 ms, `max` 10 s, by delivery count).
 * - `maxInFlight` (1024): unacknowledged messages of the group at once (`max_ack_pending`).
 * - `publishBuffer` (10 000) publishes waiting for their ack; `publishTimeout` (5 s).
 * - `shutdownGrace` (5 s); `beforeEncode`: a step on every envelope before it
 *   is encoded (redaction at the boundary).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 * import { NatsOptions } from "@eventfabric/nats"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ id: Schema.String }) })
 * Schema.decodeUnknownSync(NatsOptions.NatsOptions)({ definitions: [Placed], group: "billing" })
 * ```
 * @since 0.1.0
 */
export const NatsOptions = Schema.Struct({
  definitions: Schema.Array(DefinitionSchema).check(Schema.isMinLength(1)),
  stream: Schema.optional(Token),
  subjectPrefix: Schema.optional(SubjectToken),
  createStream: Schema.optional(Schema.Boolean),
  storage: Schema.optional(Schema.Literals(["file", "memory"])),
  duplicateWindow: Schema.optional(Options.DurationInput),
  maxMessages: Schema.optional(PositiveInt),
  maxAge: Schema.optional(Options.DurationInput),
  group: Schema.optional(Token),
  consume: Schema.optional(Schema.Array(PatternString)),
  startFrom: Schema.optional(StartFrom),
  maxDeliveries: Schema.optional(PositiveInt),
  ackWait: Schema.optional(Options.DurationInput),
  redelivery: Schema.optional(Schema.Struct({ base: Options.DurationInput, max: Options.DurationInput })),
  maxInFlight: Schema.optional(PositiveInt),
  publishBuffer: Schema.optional(PositiveInt),
  publishTimeout: Schema.optional(Options.DurationInput),
  shutdownGrace: Schema.optional(Options.DurationInput),
  beforeEncode: Schema.optional(EncodeSchema)
})

/**
 * The options as a caller writes them.
 *
 * @since 0.1.0
 */
export type NatsOptions = typeof NatsOptions.Encoded

/**
 * The options with every default filled in.
 *
 * @since 0.1.0
 */
export interface Resolved {
  readonly definitions: ReadonlyArray<Event.Definition>
  readonly stream: string
  readonly subjectPrefix: string
  readonly createStream: boolean
  readonly storage: "file" | "memory"
  readonly duplicateWindow: Duration.Duration
  readonly maxMessages: number
  readonly maxAge: Duration.Duration
  readonly group: string | undefined
  readonly consume: ReadonlyArray<string>
  readonly startFrom: typeof StartFrom.Type
  readonly maxDeliveries: number
  readonly ackWait: Duration.Duration
  readonly redelivery: { readonly base: Duration.Duration; readonly max: Duration.Duration }
  readonly maxInFlight: number
  readonly publishBuffer: number
  readonly publishTimeout: Duration.Duration
  readonly shutdownGrace: Duration.Duration
  readonly beforeEncode: Transport.Encode | undefined
}

/**
 * Fills in the defaults of decoded options.
 *
 * @example
 * ```ts
 * import { NatsOptions } from "@eventfabric/nats"
 * declare const decoded: typeof NatsOptions.NatsOptions.Type
 * NatsOptions.resolve(decoded).stream // "EVENTFABRIC" unless set
 * ```
 * @since 0.1.0
 */
export const resolve = (options: typeof NatsOptions.Type): Resolved => ({
  definitions: options.definitions,
  stream: options.stream ?? "EVENTFABRIC",
  subjectPrefix: options.subjectPrefix ?? "eventfabric",
  createStream: options.createStream ?? true,
  storage: options.storage ?? "file",
  duplicateWindow: options.duplicateWindow ?? Duration.minutes(2),
  maxMessages: options.maxMessages ?? 1_000_000,
  maxAge: options.maxAge ?? Duration.days(7),
  group: options.group,
  consume: options.consume ?? ["**"],
  startFrom: options.startFrom ?? "first",
  maxDeliveries: options.maxDeliveries ?? 5,
  ackWait: options.ackWait ?? Duration.seconds(30),
  redelivery: options.redelivery ?? { base: Duration.millis(200), max: Duration.seconds(10) },
  maxInFlight: options.maxInFlight ?? 1024,
  publishBuffer: options.publishBuffer ?? 10_000,
  publishTimeout: options.publishTimeout ?? Duration.seconds(5),
  shutdownGrace: options.shutdownGrace ?? Duration.seconds(5),
  beforeEncode: options.beforeEncode
})
