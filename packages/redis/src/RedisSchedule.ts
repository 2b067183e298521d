/**
 * Delayed publishes that survive a restart: each is held in a Redis sorted
 * set (`<prefix>:schedule`, score = due time in epoch milliseconds, member =
 * the Schema-encoded envelope) and appended to its stream by the
 * `RedisTransport` once due, by whichever process's poller claims it first.
 *
 * A claim is one `EVAL` (`ZRANGEBYSCORE … LIMIT` then `ZREM`), so two
 * processes never move the same entry. An entry whose append fails (Redis
 * down, publish buffer full) is put back with its due time and tried again on
 * the next poll. Known gap: a process killed between the claim and the append
 * loses those entries (at most `batch`); a processing set reclaimed after an
 * idle time would close it.
 *
 * The in-process schedule (`publish(…, { delay })` on the bus) stays the
 * choice for delays that may be lost with the process.
 *
 * @since 0.2.0
 */
import { Envelope, Errors, type Event, Options, type Plugin } from "@eventfabric/core"
import { Clock, Context, Duration, Effect, Exit, Layer, Option, Schema } from "effect"
import { Redis, type RedisError } from "effect/persistence/Redis"
import * as Codec from "./internal/codec.ts"
import { RedisTransport } from "./RedisTransport.ts"

/**
 * Options of the schedule.
 *
 * - `prefix`: the key prefix (default `"eventfabric"`); the set is `<prefix>:schedule`.
 * - `definitions`: the event types it may hold (their Schemas encode and decode the envelopes).
 * - `pollInterval`: how often due entries are looked for (default 1 second).
 * - `batch`: entries moved per poll at most (default 100).
 *
 * @since 0.2.0
 */
export interface ScheduleOptions {
  readonly prefix?: string | undefined
  readonly definitions: ReadonlyArray<Event.Definition>
  readonly pollInterval?: Duration.Input | undefined
  readonly batch?: number | undefined
}

const Config = Schema.Struct({
  prefix: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  pollInterval: Schema.optional(Options.DurationInput),
  batch: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
})

/**
 * The schedule's counters in this process.
 *
 * @since 0.2.0
 */
export interface ScheduleStats {
  /** Entries this process added. */
  readonly scheduled: number
  /** Entries this process claimed and appended to their stream. */
  readonly moved: number
  /** Claimed entries put back because the append failed. */
  readonly retried: number
  /** Claimed entries that did not decode (dropped, counted). */
  readonly decodeFailed: number
}

// Claims up to ARGV[2] members due at ARGV[1]: read and removed in one step.
const claimScript = `local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #items > 0 then redis.call('ZREM', KEYS[1], unpack(items)) end
return items`

/**
 * The durable schedule.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RedisSchedule } from "@eventfabric/redis"
 * declare const Reminder: import("@eventfabric/core").Event.Definition<"orders.reminder", any>
 * const program = Effect.gen(function*() {
 *   const schedule = yield* RedisSchedule.RedisSchedule
 *   yield* schedule.schedule(Reminder, { orderId: "o-1" }, { delay: "1 day" })
 * })
 * ```
 * @since 0.2.0
 */
export class RedisSchedule extends Context.Service<
  RedisSchedule,
  {
    /** Adds the event to the set; answers its envelope id and due time. */
    readonly schedule: <D extends Event.Definition>(
      definition: D,
      payload: Event.Payload<D>,
      options: Plugin.PublishOptions
    ) => Effect.Effect<{ readonly id: string; readonly dueAt: number }, Errors.InvalidEvent | RedisError>
    /** Entries in the set now (every process's). */
    readonly pending: Effect.Effect<number, RedisError>
    readonly stats: Effect.Effect<ScheduleStats>
  }
>()("@eventfabric/redis/RedisSchedule") {
  /** The schedule and its poller, living as long as the layer; needs `Redis` and a `RedisTransport`. */
  static readonly layer = (
    options: ScheduleOptions
  ): Layer.Layer<RedisSchedule, Errors.InvalidOptions, Redis | RedisTransport> =>
    Layer.effect(RedisSchedule, make(options))
}

/**
 * @since 0.2.0
 */
export const layer = RedisSchedule.layer

const make = Effect.fnUntraced(function* (options: ScheduleOptions) {
  const config = yield* Options.decode(Config, "RedisSchedule", {
    prefix: options.prefix,
    pollInterval: options.pollInterval,
    batch: options.batch
  })
  const redis = yield* Redis
  const transport = yield* RedisTransport
  const key = `${config.prefix ?? "eventfabric"}:schedule`
  const batch = config.batch ?? 100
  const pollInterval = config.pollInterval ?? Duration.seconds(1)
  const codecs = new Map(options.definitions.map((d) => [d.name, Codec.make(d, key)]))
  const counters = { scheduled: 0, moved: 0, retried: 0, decodeFailed: 0 }

  const invalid = (type: string, message: string): Effect.Effect<never, Errors.InvalidEvent> =>
    Effect.fail(new Errors.InvalidEvent({ type, message }))

  const schedule = <D extends Event.Definition>(
    definition: D,
    payload: Event.Payload<D>,
    opts: Plugin.PublishOptions
  ): Effect.Effect<{ readonly id: string; readonly dueAt: number }, Errors.InvalidEvent | RedisError> =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (now): Effect.Effect<{ readonly id: string; readonly dueAt: number }, Errors.InvalidEvent | RedisError> => {
        const codec = codecs.get(definition.name)
        if (codec === undefined) return invalid(definition.name, `Expected one of the schedule's definitions`)
        const { delay, at, ...rest } = opts
        let dueAt = now
        if (delay !== undefined) {
          const d = Duration.fromInput(delay)
          if (Option.isNone(d)) return invalid(definition.name, "Expected `delay` to be a duration")
          dueAt = now + Duration.toMillis(d.value)
        }
        if (at !== undefined) {
          const t = typeof at === "number" ? at : at.getTime()
          if (!Number.isFinite(t)) return invalid(definition.name, "Expected `at` to be a valid time")
          dueAt = Math.max(dueAt, t)
        }
        const envelope = Envelope.make(definition, payload, rest, now)
        const text = codec.encode(envelope)
        if (Exit.isFailure(text)) return invalid(definition.name, text.cause.reasons.map(String).join("\n"))
        return Effect.map(redis.send("ZADD", key, String(dueAt), text.value), () => {
          counters.scheduled++
          return { id: envelope.id, dueAt }
        })
      }
    )

  const move = (text: string, now: number): Effect.Effect<void> => {
    let type: string | undefined
    try {
      type = (JSON.parse(text) as { type?: string }).type
    } catch {
      type = undefined
    }
    const decoded = type === undefined ? undefined : codecs.get(type)?.decode(text)
    if (decoded === undefined || Exit.isFailure(decoded)) {
      counters.decodeFailed++
      return Effect.logWarning(`eventfabric: a scheduled entry of ${type ?? "unknown type"} did not decode; dropped`)
    }
    const e = decoded.value
    const definition = codecs.get(e.type)!.definition
    return transport.publish(definition, e.payload as never, Envelope.identity(e)).pipe(
      Effect.matchEffect({
        onSuccess: () => Effect.sync(() => void counters.moved++),
        onFailure: () =>
          Effect.andThen(
            Effect.sync(() => void counters.retried++),
            Effect.ignore(redis.send("ZADD", key, String(now), text))
          )
      })
    )
  }

  const poll = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const items = yield* redis.send<ReadonlyArray<string>>("EVAL", claimScript, "1", key, String(now), String(batch))
    for (const text of items) yield* move(text, now)
  })

  yield* Effect.forkScoped(
    Effect.forever(
      Effect.andThen(
        Effect.sleep(pollInterval),
        Effect.catchCause(poll, (cause) => Effect.logWarning("eventfabric: schedule poll failed", cause))
      )
    )
  )

  return RedisSchedule.of({
    schedule,
    pending: redis.send<number>("ZCARD", key),
    stats: Effect.sync(() => ({ ...counters }))
  })
})
