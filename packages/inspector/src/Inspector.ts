/**
 * The inspector's sampler: once per interval it reads `bus.stats` (and the
 * DLQ's, the handle times, the transports'), derives a `Sample`, keeps the
 * last minutes of chart points, and broadcasts the sample with the `system.*`
 * events seen since the previous one. One sampler serves every connected
 * page: a page costs the bus nothing more than the sampler does.
 *
 * It subscribes to `system.**` under the name `@eventfabric/inspector` (hidden
 * from the page's table) to keep the latest system events and each
 * subscription's circuit state; with `BusRecords` in context it lists the
 * bus's stop records among them.
 *
 * @since 0.1.0
 */
import { type Errors, EventBus, Options, Selector } from "@eventfabric/core"
import { DeadLetterQueue, Redaction } from "@eventfabric/plugins"
import { Transport } from "@eventfabric/transport"
import { Clock, Config, Context, Duration, Effect, Layer, Option, PubSub, Redacted, Ref, Schema, Stream } from "effect"
import { BusRecords } from "./BusRecords.ts"
import { HandleTimes } from "./HandleTime.ts"
import * as SystemLog from "./internal/systemLog.ts"
import * as Sample from "./Sample.ts"

/**
 * A transport the page lists: a name and an Effect reading its counters
 * (e.g. `RedisTransport`'s `stats`). Primitive fields are shown as they come;
 * nested objects one level deep as `outer.inner`.
 *
 * @since 0.1.0
 */
export interface TransportSource {
  readonly name: string
  readonly stats: Effect.Effect<unknown, unknown>
}

/**
 * A system event as the page lists it; its payload passed the Redactor.
 *
 * @since 0.1.0
 */
export type SystemEvent = SystemLog.SystemEvent

/**
 * What the page receives each interval.
 *
 * @since 0.1.0
 */
export interface Update {
  readonly sample: Sample.Sample
  readonly events: ReadonlyArray<SystemEvent>
}

/**
 * The inspector's options.
 *
 * - `interval`: between samples (default 1 second).
 * - `history`: chart points kept (default 300: five minutes at one a second).
 * - `events`: system events kept (default 100).
 * - `transports`: transports to list, besides the `Transport` service in
 *   context, which is listed by its engine's name.
 * - `token`: the bearer token mutations need. Without it the inspector reads
 *   `EVENTFABRIC_INSPECTOR_TOKEN` from `Config`; with neither it is read-only.
 *
 * @since 0.1.0
 */
export interface InspectorOptions {
  readonly interval?: Duration.Input | undefined
  readonly history?: number | undefined
  readonly events?: number | undefined
  readonly transports?: ReadonlyArray<TransportSource> | undefined
  readonly token?: Redacted.Redacted<string> | undefined
}

/**
 * The checked part of the options: a bad value fails the layer with
 * `InvalidOptions` naming the path.
 *
 * @since 0.1.0
 */
export const OptionsSchema = Schema.Struct({
  interval: Schema.optional(Options.DurationInput),
  history: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0))),
  events: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0)))
})

/**
 * The name of the inspector's own subscription.
 *
 * @since 0.1.0
 */
export const subscriptionName = "@eventfabric/inspector"

const primitive = (u: unknown): u is string | number | boolean =>
  typeof u === "string" || typeof u === "boolean" || (typeof u === "number" && Number.isFinite(u))

/** A transport's stats, flattened one level for display. */
const flatten = (u: unknown): Record<string, string | number | boolean> => {
  const out: Record<string, string | number | boolean> = {}
  if (typeof u !== "object" || u === null) return primitive(u) ? { value: u } : out
  for (const [k, v] of Object.entries(u)) {
    if (primitive(v)) out[k] = v
    else if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) if (primitive(v2)) out[`${k}.${k2}`] = v2
    }
  }
  return out
}

/**
 * The inspector service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Inspector } from "@eventfabric/inspector"
 *
 * const printLanes = Effect.gen(function*() {
 *   const inspector = yield* Inspector.Inspector
 *   const sample = yield* inspector.latest
 *   for (const lane of sample?.lanes ?? []) yield* Effect.log(`${lane.name}: ${lane.queued}/${lane.capacity}`)
 * })
 * ```
 * @since 0.1.0
 * @category services
 */
export class Inspector extends Context.Service<
  Inspector,
  {
    /** The latest sample, once the first is taken. */
    readonly latest: Effect.Effect<Sample.Sample | undefined>
    /** Chart points, oldest first. */
    readonly history: Effect.Effect<ReadonlyArray<Sample.Point>>
    /** System events with `seq > after` (all kept without it), oldest first. */
    readonly events: (after?: number) => Effect.Effect<ReadonlyArray<SystemEvent>>
    /** Live updates, one per interval, until the inspector stops. */
    readonly updates: Stream.Stream<Update>
    readonly interval: Duration.Duration
    /** The token mutations need; none: read-only. */
    readonly token: Option.Option<Redacted.Redacted<string>>
    /** The dead-letter queue, when the program has one. */
    readonly dlq: Option.Option<DeadLetterQueue.DeadLetterQueue["Service"]>
    /** The Redactor in context, or one with the default config: what the page shows is masked. */
    readonly redactor: Redaction.RedactorShape
    /** Takes a sample now and broadcasts it (the sampler calls it every interval). */
    readonly sampleNow: Effect.Effect<Update>
  }
>()("@eventfabric/inspector/Inspector") {
  /**
   * The inspector over the `EventBus` in context. Uses the `DeadLetterQueue`,
   * `Redactor`, `HandleTimes` and `BusRecords` when they are in context too.
   *
   * @example
   * ```ts
   * import { Layer } from "effect"
   * import { EventBus } from "@eventfabric/core"
   * import { Inspector } from "@eventfabric/inspector"
   * const Live = Inspector.Inspector.layer({ history: 600 }).pipe(Layer.provideMerge(EventBus.EventBus.layer()))
   * ```
   */
  static readonly layer = (
    options?: InspectorOptions
  ): Layer.Layer<Inspector, Config.ConfigError | Errors.InvalidOptions, EventBus.EventBus> =>
    Layer.effect(Inspector, make(options))
}

/**
 * The token from `Config`: `EVENTFABRIC_INSPECTOR_TOKEN`, optional; an empty
 * value counts as none.
 *
 * @since 0.1.0
 */
export const TokenConfig: Config.Config<Option.Option<Redacted.Redacted<string>>> = Config.Redacted(
  "EVENTFABRIC_INSPECTOR_TOKEN"
).pipe(Config.option, Config.map(Option.filter((t) => Redacted.value(t).length > 0)))

/**
 * Builds the inspector; the sampler runs in the current scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fnUntraced(function* (options: InspectorOptions = {}) {
  const checked = yield* Options.decode(OptionsSchema, "Inspector", {
    interval: options.interval,
    history: options.history,
    events: options.events
  })
  const bus = yield* EventBus.EventBus
  const dlq = yield* Effect.serviceOption(DeadLetterQueue.DeadLetterQueue)
  const times = yield* Effect.serviceOption(HandleTimes)
  const found = yield* Effect.serviceOption(Redaction.Redactor)
  const redactor = Option.isSome(found) ? found.value : yield* Effect.orDie(Redaction.make())
  const token = options.token !== undefined ? Option.some(options.token) : yield* TokenConfig
  const interval = checked.interval ?? Duration.seconds(1)
  const historySize = checked.history ?? 300
  // A transport in context (`RedisTransport.layerTransport`, `NatsTransport.layerTransport`) is listed
  // without being named in the options.
  const engine = yield* Effect.serviceOption(Transport.Transport)
  const transports = [
    ...(options.transports ?? []),
    ...(Option.isSome(engine) ? [{ name: engine.value.engine, stats: engine.value.stats }] : [])
  ]

  const log = SystemLog.make(checked.events ?? 100, redactor.value)
  yield* Effect.orDie(
    bus.subscribe(Selector.pattern("system.**"), (envelope) => Effect.sync(() => log.add(envelope)), {
      name: subscriptionName,
      mailbox: 4096
    })
  )
  // The bus's stop records reach no subscription; the BusRecords plugin hands them over.
  const records = yield* Effect.serviceOption(BusRecords)
  if (Option.isSome(records)) yield* records.value.listen(log.add)

  const pubsub = yield* Effect.acquireRelease(PubSub.sliding<Update>(16), PubSub.shutdown)
  const latest = yield* Ref.make<Sample.Sample | undefined>(undefined)
  const history: Array<Sample.Point> = []
  let previous: { stats: Parameters<typeof Sample.derive>[0]; at: number } | undefined
  let seq = 0
  let eventsSeen = 0

  const readTransport = (source: TransportSource) =>
    source.stats.pipe(
      Effect.map((u): Sample.TransportSample => ({ name: source.name, fields: flatten(u) })),
      Effect.catchCause(() => Effect.succeed({ name: source.name, fields: { error: "stats unavailable" } }))
    )

  const sampleNow = Effect.gen(function* () {
    const stats = yield* bus.stats
    const at = yield* Clock.currentTimeMillis
    const dlqStats = Option.isSome(dlq)
      ? yield* dlq.value.stats.pipe(
          Effect.map((s): Sample.DlqSample | undefined => s),
          Effect.catchCause(() => Effect.succeed(undefined))
        )
      : undefined
    const sample = Sample.derive(stats, at, previous, {
      seq: ++seq,
      handleTimes: Option.isSome(times) ? times.value.snapshot() : new Map(),
      circuits: log.circuits(at),
      dlq: dlqStats,
      transports: yield* Effect.forEach(transports, readTransport),
      hidden: new Set([subscriptionName])
    })
    previous = { stats, at }
    history.push(sample.point)
    if (history.length > historySize) history.shift()
    const events = log.since(eventsSeen)
    eventsSeen = log.last()
    yield* Ref.set(latest, sample)
    const update: Update = { sample, events }
    yield* PubSub.publish(pubsub, update)
    return update
  })

  yield* Stream.tick(interval).pipe(
    Stream.runForEach(() => sampleNow),
    Effect.forkScoped({ startImmediately: true })
  )

  return Inspector.of({
    latest: Ref.get(latest),
    history: Effect.sync(() => history.slice()),
    events: (after = 0) => Effect.sync(() => log.since(after)),
    updates: Stream.fromPubSub(pubsub),
    interval,
    token,
    dlq,
    redactor,
    sampleNow
  })
})
