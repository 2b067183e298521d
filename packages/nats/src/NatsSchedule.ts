/**
 * Delayed publishes that survive a restart, over JetStream: each is a message
 * of a schedule stream of its own (`stream`, work-queue retention, file
 * storage, capturing `<subjectPrefix>.>`), its body the due time in epoch
 * milliseconds, a newline, and the Schema-encoded envelope. Every process
 * that releases binds to the one durable consumer of that stream, so the
 * server hands each entry to one process at a time. An entry not yet due is
 * handed back with `nak(remaining)`, so nobody holds it while it waits (NATS
 * 2.9 has no per-message schedule); a due one is published with the
 * `NatsTransport`, keeping its id, publishedAt, attempt and trace fields, and
 * then acknowledged, which removes it from the stream.
 *
 * Exactly once per entry: the release publishes with the envelope id as
 * `Nats-Msg-Id`, so a process that dies between the publish and the ack
 * (the entry comes back after `ackWait`) publishes a duplicate the event
 * stream stores once, as long as `ackWait` is shorter than that stream's
 * duplicate window (30 s against 2 min by default).
 *
 * The due time is read from the scheduling process's clock and compared
 * with the releasing one's, so clock skew between hosts shifts a release by
 * that much.
 *
 * Bound: the stream holds at most `capacity` entries; one more is refused
 * with `ScheduleFullError`. A held entry counts as pending on the consumer,
 * whose `max_ack_pending` is the same `capacity`, so every entry is seen.
 *
 * @since 0.2.0
 */
import { Envelope, Errors, type Event, Options, type Plugin } from "@eventfabric/core"
import { Codec } from "@eventfabric/transport"
import { AckPolicy, DeliverPolicy, DiscardPolicy, type JsMsg, RetentionPolicy, StorageType } from "@nats-io/jetstream"
import { Clock, Context, Duration, Effect, Exit, FiberSet, Layer, Schema } from "effect"
import { dueAt } from "./internal/due.ts"
import { messageOf } from "./internal/errors.ts"
import { NatsConnection } from "./NatsConnection.ts"
import { NatsUnavailableError } from "./NatsErrors.ts"
import { NatsTransport } from "./NatsTransport.ts"

/**
 * Options of the schedule.
 *
 * - `definitions`: the event types it may hold (their Schemas encode and decode the envelopes).
 * - `stream` (`"EVENTFABRIC_SCHEDULE"`) and `subjectPrefix` (`"eventfabric_schedule"`): where entries are kept;
 *   the prefix must not overlap the transport's.
 * - `consumer` (`"schedule"`): the durable every releasing process shares.
 * - `storage` (`"file"`), `capacity` (100 000 entries), `ackWait` (30 s).
 * - `release` (true): this process releases due entries; false only schedules.
 *
 * @since 0.2.0
 */
export interface ScheduleOptions {
  readonly definitions: ReadonlyArray<Event.Definition>
  readonly stream?: string | undefined
  readonly subjectPrefix?: string | undefined
  readonly consumer?: string | undefined
  readonly storage?: "file" | "memory" | undefined
  readonly capacity?: number | undefined
  readonly ackWait?: Duration.Input | undefined
  readonly release?: boolean | undefined
}

const Name = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]+$/))
const Config = Schema.Struct({
  stream: Schema.optional(Name),
  subjectPrefix: Schema.optional(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/))),
  consumer: Schema.optional(Name),
  storage: Schema.optional(Schema.Literals(["file", "memory"])),
  capacity: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  ackWait: Schema.optional(Options.DurationInput),
  release: Schema.optional(Schema.Boolean)
})

/**
 * The schedule's counters in this process (the same as `RedisSchedule`'s, plus `held`).
 *
 * @since 0.2.0
 */
export interface ScheduleStats {
  /** Entries this process added. */
  readonly scheduled: number
  /** Due entries this process published to their stream. */
  readonly moved: number
  /** Due entries handed back because the publish failed. */
  readonly retried: number
  /** Entries that did not decode (terminated, counted). */
  readonly decodeFailed: number
  /** Times this process handed back an entry not yet due. */
  readonly held: number
}

/**
 * The durable schedule.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NatsSchedule } from "@eventfabric/nats"
 * declare const Reminder: import("@eventfabric/core").Event.Definition<"orders.reminder", any>
 * const program = Effect.gen(function*() {
 *   const schedule = yield* NatsSchedule.NatsSchedule
 *   yield* schedule.schedule(Reminder, { orderId: "o-1" }, { delay: "1 day" })
 * })
 * ```
 * @category services
 * @since 0.2.0
 */
export class NatsSchedule extends Context.Service<
  NatsSchedule,
  {
    /** Stores the event in the schedule stream; answers its envelope id and due time. */
    readonly schedule: <D extends Event.Definition>(
      definition: D,
      payload: Event.Payload<D>,
      options: Plugin.PublishOptions
    ) => Effect.Effect<
      { readonly id: string; readonly dueAt: number },
      Errors.InvalidEvent | Errors.ScheduleFullError | NatsUnavailableError
    >
    /** Entries in the stream now (every process's). */
    readonly pending: Effect.Effect<number, NatsUnavailableError>
    readonly stats: Effect.Effect<ScheduleStats>
  }
>()("@eventfabric/nats/NatsSchedule") {
  /** The schedule and its releaser, living as long as the layer; needs `NatsConnection` and a `NatsTransport`. */
  static readonly layer = (
    options: ScheduleOptions
  ): Layer.Layer<NatsSchedule, Errors.InvalidOptions | NatsUnavailableError, NatsConnection | NatsTransport> =>
    Layer.effect(NatsSchedule, make(options))
}

/**
 * @since 0.2.0
 */
export const layer = NatsSchedule.layer

const nanos = (d: Duration.Duration) => Math.round(Duration.toMillis(d) * 1_000_000)
const unavailable = (operation: string) => (error: unknown) =>
  new NatsUnavailableError({ operation, message: messageOf(error) })

const make = Effect.fnUntraced(function* (options: ScheduleOptions) {
  const { definitions: _, ...rest } = options
  const config = yield* Options.decode(Config, "NatsSchedule", rest)
  const connection = yield* NatsConnection
  const transport = yield* NatsTransport
  const stream = config.stream ?? "EVENTFABRIC_SCHEDULE"
  const prefix = config.subjectPrefix ?? "eventfabric_schedule"
  const durable = config.consumer ?? "schedule"
  const capacity = config.capacity ?? 100_000
  const ackWait = config.ackWait ?? Duration.seconds(30)
  const codecs = new Map(options.definitions.map((d) => [d.name, Codec.make(d)]))
  const counters = { scheduled: 0, moved: 0, retried: 0, decodeFailed: 0, held: 0 }

  yield* Effect.tryPromise({
    try: async () => {
      try {
        await connection.jsm.streams.info(stream)
      } catch (error) {
        if (!/not found/i.test(messageOf(error))) throw error
        await connection.jsm.streams.add({
          name: stream,
          subjects: [`${prefix}.>`],
          storage: config.storage === "memory" ? StorageType.Memory : StorageType.File,
          retention: RetentionPolicy.Workqueue,
          max_msgs: capacity,
          discard: DiscardPolicy.New
        })
      }
    },
    catch: unavailable("schedule stream")
  })

  const invalid = (type: string, message: string) => Effect.fail(new Errors.InvalidEvent({ type, message }))

  const schedule: NatsSchedule["Service"]["schedule"] = (definition, payload, opts) =>
    Effect.flatMap(Clock.currentTimeMillis, (now): ReturnType<NatsSchedule["Service"]["schedule"]> => {
      const codec = codecs.get(definition.name)
      if (codec === undefined) return invalid(definition.name, "Expected one of the schedule's definitions")
      const due = dueAt(now, opts)
      if (typeof due === "string") return invalid(definition.name, due)
      const { delay: _d, at: _a, ...fields } = opts
      const envelope = Envelope.make(definition, payload, fields, now)
      const text = codec.encodeChecked(envelope)
      if (Exit.isFailure(text)) return invalid(definition.name, text.cause.reasons.map(String).join("\n"))
      return Effect.tryPromise({
        try: () =>
          connection.js.publish(`${prefix}.${definition.name}`, `${due}\n${text.value}`, { msgID: envelope.id }),
        catch: (error) =>
          /maximum messages/i.test(messageOf(error))
            ? new Errors.ScheduleFullError({ type: definition.name, capacity })
            : unavailable("schedule")(error)
      }).pipe(
        Effect.map(() => {
          counters.scheduled++
          return { id: envelope.id, dueAt: due }
        })
      )
    })

  if (config.release ?? true)
    yield* release(connection, transport, stream, prefix, durable, capacity, ackWait, codecs, counters)

  return NatsSchedule.of({
    schedule,
    pending: Effect.tryPromise({
      try: async () => (await connection.jsm.streams.info(stream)).state.messages,
      catch: unavailable("schedule pending")
    }),
    stats: Effect.sync(() => ({ ...counters }))
  })
})

/** Binds this process to the shared durable: holds back what is not due, publishes what is. */
const release = Effect.fnUntraced(function* (
  connection: NatsConnection["Service"],
  transport: NatsTransport["Service"],
  stream: string,
  prefix: string,
  durable: string,
  capacity: number,
  ackWait: Duration.Duration,
  codecs: ReadonlyMap<string, Codec.Codec>,
  counters: { scheduled: number; moved: number; retried: number; decodeFailed: number; held: number }
) {
  const consumer = yield* Effect.tryPromise({
    try: async () => {
      try {
        await connection.jsm.consumers.info(stream, durable)
      } catch (error) {
        if (!/not found/i.test(messageOf(error))) throw error
        await connection.jsm.consumers.add(stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          ack_wait: nanos(ackWait),
          max_deliver: -1,
          max_ack_pending: capacity,
          deliver_policy: DeliverPolicy.All,
          filter_subject: `${prefix}.>`
        })
      }
      return await connection.js.consumers.get(stream, durable)
    },
    catch: unavailable("schedule consumer")
  })
  const fibers = yield* FiberSet.make<void, never>()
  const run = yield* FiberSet.runtime(fibers)<never>()

  const drop = (m: JsMsg, why: string) => {
    counters.decodeFailed++
    m.term(why.slice(0, 256))
    run(Effect.logWarning(`eventfabric: scheduled entry ${stream} ${m.seq} did not decode (${why}); dropped`))
  }

  const onMessage = (m: JsMsg) => {
    const body = m.string()
    const cut = body.indexOf("\n")
    const due = Number(body.slice(0, cut))
    const text = body.slice(cut + 1)
    const codec = codecs.get(m.subject.slice(prefix.length + 1))
    if (cut < 0 || !Number.isFinite(due) || codec === undefined) return drop(m, "not a schedule entry")
    run(
      Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<void> => {
        if (due > now) {
          counters.held++
          // Back when due, or in an hour at most to look again (a far-off delay, a clock that moved).
          m.nak(Math.min(due - now, 3_600_000))
          return Effect.void
        }
        const decoded = codec.decode(text)
        if (Exit.isFailure(decoded)) return Effect.sync(() => drop(m, "undecodable envelope"))
        const e = decoded.value
        return transport.publish(codec.definition, e.payload as never, Envelope.identity(e)).pipe(
          Effect.matchEffect({
            onSuccess: () =>
              Effect.sync(() => {
                m.ack()
                counters.moved++
              }),
            onFailure: (error) =>
              Effect.andThen(
                Effect.sync(() => {
                  counters.retried++
                  m.nak(1000)
                }),
                Effect.logWarning(`eventfabric: releasing scheduled ${e.type} ${e.id} failed; again in 1 s`, error)
              )
          })
        )
      })
    )
  }

  const messages = yield* Effect.tryPromise({
    try: () => consumer.consume({ max_messages: 256, callback: onMessage }),
    catch: unavailable("schedule consume")
  })
  yield* Effect.addFinalizer(() => Effect.sync(() => messages.stop()))
})
