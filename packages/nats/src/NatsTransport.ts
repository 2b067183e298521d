/**
 * The NATS JetStream transport: typed events across processes, at least
 * once, with publish dedup and replay.
 *
 * All routed definitions share one stream (`stream`, capturing
 * `<subjectPrefix>.>`); event type `orders.placed` is the subject
 * `<subjectPrefix>.orders.placed`. `publish` sends a Schema-encoded envelope
 * with its id as `Nats-Msg-Id`, so publishing the same envelope again inside
 * the duplicate window stores it once. A process that `start`s is bound to
 * its group's durable consumer (one group per service, filtered by the
 * `consume` patterns as subject wildcards) and settles each message after
 * every local delivery ended (see `Transport.verdict`).
 *
 * @since 0.1.0
 */
import { Errors, type EventBus, Options, Selector } from "@eventfabric/core"
import * as DeadLetterStore from "@eventfabric/plugins/DeadLetterStore"
import { Codec, Transport } from "@eventfabric/transport"
import { RetentionPolicy, StorageType } from "@nats-io/jetstream"
import { Context, Duration, Effect, Layer, type Scope } from "effect"
import * as Consumer from "./internal/consumer.ts"
import { messageOf } from "./internal/errors.ts"
import * as Publisher from "./internal/publisher.ts"
import { NatsConnection } from "./NatsConnection.ts"
import { NatsUnavailableError, StreamMissingError } from "./NatsErrors.ts"
import * as NatsOptions from "./NatsOptions.ts"
import * as Subjects from "./Subjects.ts"

/**
 * Everything `publish` can fail with: server unreachable
 * (`NatsUnavailableError`), no stream on the subject (`StreamMissingError`),
 * no acknowledgement in `publishTimeout` (`PublishNotAcknowledgedError`),
 * too many publishes waiting (`PublishBufferFullError`), a definition
 * without a subject (`UnroutedEventError`), a payload its Schema refuses
 * (`InvalidEvent`).
 *
 * @since 0.1.0
 */
export type PublishError = Publisher.PublishError

/**
 * Headers a consumed envelope carries about its transport: the stream
 * sequence and how many times JetStream delivered it.
 *
 * @example
 * ```ts
 * import type { Envelope } from "@eventfabric/core"
 * import { NatsTransport } from "@eventfabric/nats"
 * const sequence = (e: Envelope.Envelope) => Number(e.headers?.[NatsTransport.headers.sequence])
 * ```
 * @since 0.1.0
 */
export const headers = Consumer.headers

/**
 * The transport service.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Schema } from "effect"
 * import { Event, EventBus } from "@eventfabric/core"
 * import { DeadLetterStore } from "@eventfabric/plugins"
 * import { NatsConnection, NatsTransport } from "@eventfabric/nats"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ id: Schema.String }) })
 *
 * const worker = Effect.gen(function*() {
 *   const bus = yield* EventBus.EventBus
 *   yield* bus.subscribe(Placed, (e) => Effect.log(e.payload.id), { name: "log" })
 *   const transport = yield* NatsTransport.NatsTransport
 *   yield* transport.start // consume after subscribing
 *   yield* transport.publish(Placed, { id: "o-1" })
 *   yield* Effect.never
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(NatsTransport.NatsTransport.layer({ definitions: [Placed], group: "billing" })),
 *   Effect.provide([EventBus.EventBus.layer(), DeadLetterStore.layerMemory()]),
 *   Effect.provide(NatsConnection.layer())
 * )
 * ```
 * @category services
 * @since 0.1.0
 */
export class NatsTransport extends Context.Service<
  NatsTransport,
  {
    readonly publish: Publisher.Publisher["publish"]
    readonly publishAll: Publisher.Publisher["publishAll"]
    /**
     * Starts consuming (needs `group`) into the local bus until the scope
     * closes. Subscribe first: an event with no local subscriber is delivered
     * to nobody and acknowledged.
     */
    readonly start: Effect.Effect<
      void,
      NatsUnavailableError | StreamMissingError | Errors.InvalidOptions,
      Scope.Scope | EventBus.EventBus | DeadLetterStore.DeadLetterStore
    >
    /** The subjects, by event type. */
    readonly subjects: ReadonlyMap<string, string>
    /** The subject filter of the group's consumer. */
    readonly filter: string
    readonly stats: Effect.Effect<Transport.Stats>
  }
>()("@eventfabric/nats/NatsTransport") {
  /**
   * The transport as a layer over `NatsConnection`. Options are decoded by
   * Schema; a bad value fails the layer with `InvalidOptions` naming the path.
   *
   * @example
   * ```ts
   * import { NatsTransport } from "@eventfabric/nats"
   * declare const definitions: ReadonlyArray<import("@eventfabric/core").Event.Definition>
   * const Transport = NatsTransport.NatsTransport.layer({ definitions, group: "billing", startFrom: { sequence: 1 } })
   * ```
   */
  static readonly layer = (
    options: NatsOptions.NatsOptions
  ): Layer.Layer<NatsTransport, Errors.InvalidOptions | NatsUnavailableError | StreamMissingError, NatsConnection> =>
    Layer.effect(NatsTransport, make(options))
}

/**
 * The transport as a layer (module-level alias of `NatsTransport.layer`).
 *
 * @example
 * ```ts
 * import { NatsTransport } from "@eventfabric/nats"
 * declare const definitions: ReadonlyArray<import("@eventfabric/core").Event.Definition>
 * const Live = NatsTransport.layer({ definitions })
 * ```
 * @since 0.1.0
 */
export const layer = (options: NatsOptions.NatsOptions) => NatsTransport.layer(options)

/**
 * The engine-neutral `Transport` over this engine, with the dead-letter store
 * bound when the layer builds.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { DeadLetterStore } from "@eventfabric/plugins"
 * import { NatsConnection, NatsTransport } from "@eventfabric/nats"
 * declare const definitions: ReadonlyArray<import("@eventfabric/core").Event.Definition>
 * const Live = NatsTransport.layerTransport({ definitions, group: "billing" }).pipe(
 *   Layer.provide([NatsConnection.layer(), DeadLetterStore.layerMemory()])
 * )
 * ```
 * @since 0.1.0
 */
export const layerTransport = (
  options: NatsOptions.NatsOptions
): Layer.Layer<
  Transport.Transport,
  Errors.InvalidOptions | NatsUnavailableError | StreamMissingError,
  NatsConnection | DeadLetterStore.DeadLetterStore
> =>
  Layer.effect(
    Transport.Transport,
    Effect.gen(function* () {
      const nats = yield* make(options)
      const dlq = yield* DeadLetterStore.DeadLetterStore
      return Transport.Transport.of({
        engine: "nats",
        publish: nats.publish,
        publishAll: nats.publishAll,
        start: Effect.provideService(nats.start, DeadLetterStore.DeadLetterStore, dlq),
        stats: nats.stats
      })
    })
  )

const nanos = (d: Duration.Duration) => Math.round(Duration.toMillis(d) * 1_000_000)

/**
 * Builds the transport over the `NatsConnection` in context, creating the
 * stream when it is missing (unless `createStream: false`).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 * import { NatsConnection, NatsTransport } from "@eventfabric/nats"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ id: Schema.String }) })
 * const program = Effect.gen(function*() {
 *   const transport = yield* NatsTransport.make({ definitions: [Placed] })
 *   yield* transport.publish(Placed, { id: "o-1" })
 * }).pipe(Effect.scoped, Effect.provide(NatsConnection.layer()))
 * ```
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: NatsOptions.NatsOptions) {
  const decoded = yield* Options.decode(NatsOptions.NatsOptions, "NatsTransport", options)
  const resolved = NatsOptions.resolve(decoded)
  const names = new Set<string>()
  for (const d of resolved.definitions) {
    if (names.has(d.name)) {
      return yield* invalid(`Expected unique definitions, ${d.name} appears twice\n  at ["definitions"]`)
    }
    names.add(d.name)
  }
  const connection = yield* NatsConnection
  const { stream, subjectPrefix } = resolved
  // Also run by the consumer when it finds the stream gone (a server restart with memory storage).
  const ensureStream = Effect.tryPromise({
    try: async () => {
      try {
        await connection.jsm.streams.info(stream)
        return
      } catch (error) {
        if (!/not found/i.test(messageOf(error)) || !resolved.createStream) throw error
      }
      await connection.jsm.streams.add({
        name: stream,
        subjects: [`${subjectPrefix}.>`],
        storage: resolved.storage === "file" ? StorageType.File : StorageType.Memory,
        retention: RetentionPolicy.Limits,
        duplicate_window: nanos(resolved.duplicateWindow),
        max_msgs: resolved.maxMessages,
        max_age: nanos(resolved.maxAge)
      })
    },
    catch: (error) =>
      /not found/i.test(messageOf(error))
        ? new StreamMissingError({ stream, message: `stream ${stream} does not exist (createStream is false)` })
        : new NatsUnavailableError({ operation: "stream", message: messageOf(error) })
  })
  yield* ensureStream

  const counters = Transport.makeCounters()
  const beforeEncode = yield* Transport.encodeStep(resolved.beforeEncode)
  const routes = new Map(
    resolved.definitions.map((d) => [
      d.name,
      { codec: Codec.make(d, beforeEncode), subject: Subjects.subject(subjectPrefix, d.name) }
    ])
  )
  const patterns = resolved.consume.map(Selector.pattern)
  const consumed = [...routes.values()].filter((r) => patterns.some((p) => p.regex.test(r.codec.definition.name)))
  // JetStream 2.9 takes one filter subject: a pattern's wildcard when there is
  // one pattern NATS can express, the only subject when one definition is
  // consumed, else everything under the prefix (the rest acknowledged unread).
  const single = resolved.consume.length === 1 ? Subjects.wildcard(subjectPrefix, resolved.consume[0]!) : undefined
  const filter = single ?? (consumed.length === 1 ? consumed[0]!.subject : `${subjectPrefix}.>`)

  const start = Effect.suspend((): NatsTransport["Service"]["start"] => {
    const group = resolved.group
    if (group === undefined) return invalid(`Expected a consumer group to consume\n  at ["group"]`)
    if (consumed.length === 0) return invalid(`Expected patterns matching at least one definition\n  at ["consume"]`)
    return Consumer.start(connection, { ...resolved, group }, consumed, filter, counters, ensureStream)
  })

  const publisher = Publisher.make(connection, resolved, routes, counters)
  return NatsTransport.of({
    publish: publisher.publish,
    publishAll: publisher.publishAll,
    start,
    subjects: new Map([...routes].map(([type, r]) => [type, r.subject])),
    filter,
    stats: Effect.sync(() => ({ ...counters, reconnects: connection.reconnects() }))
  })
})

const invalid = (message: string) => Effect.fail(new Errors.InvalidOptions({ target: "NatsTransport", message }))
