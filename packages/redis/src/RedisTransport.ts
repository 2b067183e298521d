/**
 * The Redis Streams transport: typed events across processes, at least once.
 *
 * Each routed definition has a stream, `<prefix>:<type>`. `publish` appends a
 * Schema-encoded envelope with `XADD ... MAXLEN ~ maxLen`; concurrent publishes
 * share one round trip (a bounded buffer, written in batches). A process that
 * `start`s is one consumer of its service's group: it reads with a blocking
 * `XREADGROUP` on a dedicated connection, publishes each entry into its local
 * `EventBus`, and acknowledges only once every local delivery ended. Pending
 * entries of a dead consumer are taken over after `claimIdle`; past
 * `maxDeliveries`, or undecodable, they go to the `DeadLetterStore` and are
 * acknowledged, so a poison entry never blocks the stream.
 *
 * @since 0.1.0
 */

import { hostname } from "node:os"
import { Errors, type Event, type EventBus, Options, type Plugin, Selector } from "@eventfabric/core"
import * as DeadLetterStore from "@eventfabric/plugins/DeadLetterStore"
import { Transport } from "@eventfabric/transport"
import { Context, Effect, Layer, type Scope } from "effect"
import { Redis } from "effect/persistence/Redis"
import * as Codec from "./internal/codec.ts"
import * as Consumer from "./internal/consumer.ts"
import * as Publisher from "./internal/publisher.ts"
import * as Stats from "./internal/stats.ts"
import type { RedisUnavailable } from "./RedisErrors.ts"
import * as TransportOptions from "./TransportOptions.ts"

/**
 * What `publish` answers: the envelope id, its type and the stream entry id.
 *
 * @since 0.1.0
 */
export type Published = Publisher.Published

/**
 * Everything `publish` can fail with: Redis down or not answering within
 * `publishTimeout` (`RedisUnavailable`), the publish buffer full
 * (`PublishBufferFull`, nothing written), a definition without a stream
 * (`UnroutedEvent`), a payload its Schema refuses (`InvalidEvent`).
 *
 * @since 0.1.0
 */
export type PublishError = Publisher.PublishError

/**
 * Counters of this process's transport.
 *
 * @since 0.1.0
 */
export interface TransportStats extends Transport.Stats {
  /** Entries taken over from a dead or slow consumer (`XAUTOCLAIM`). */
  readonly claimed: number
}

/**
 * The headers a consumed envelope carries about its transport: the stream
 * entry id and how many times Redis delivered it. The envelope itself keeps
 * the published `id`, `publishedAt` and headers; its `attempt` advances with
 * each redelivery.
 *
 * @example
 * ```ts
 * import type { Envelope } from "@eventfabric/core"
 * import { RedisTransport } from "@eventfabric/redis"
 * const deliveries = (e: Envelope.Envelope) => Number(e.headers?.[RedisTransport.headers.deliveries] ?? 1)
 * ```
 *
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
 * import { RedisConnection, RedisDeadLetterStore, RedisTransport } from "@eventfabric/redis"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ id: Schema.String }) })
 *
 * const worker = Effect.gen(function*() {
 *   const bus = yield* EventBus.EventBus
 *   yield* bus.subscribe(Placed, (e) => Effect.log(e.payload.id), { name: "log" })
 *   const transport = yield* RedisTransport.RedisTransport
 *   yield* transport.start // consume after subscribing
 *   yield* transport.publish(Placed, { id: "o-1" })
 *   yield* Effect.never
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide(RedisTransport.RedisTransport.layer({ definitions: [Placed], group: "billing" })),
 *   Effect.provide([EventBus.EventBus.layer(), RedisDeadLetterStore.layer()]),
 *   Effect.provide(RedisConnection.layer())
 * )
 * ```
 * @since 0.1.0
 */
export class RedisTransport extends Context.Service<
  RedisTransport,
  {
    /**
     * Appends an event to its stream and answers its entry id. `options.id`,
     * `publishedAt` and `attempt` keep an identity made elsewhere (forwarding
     * a received envelope). Redis down: `RedisUnavailable`; buffer full:
     * `PublishBufferFull`; nothing is buffered without bound.
     */
    readonly publish: <D extends Event.Definition>(
      definition: D,
      payload: Event.Payload<D>,
      options?: Plugin.PublishOptions
    ) => Effect.Effect<Published, PublishError>
    /**
     * Appends many events of one definition, answering their entry ids in
     * order: one call, one wait, written in as few round trips as the batch
     * size allows. More than `publishBuffer` at once: `PublishBufferFull`.
     */
    readonly publishAll: <D extends Event.Definition>(
      definition: D,
      payloads: ReadonlyArray<Event.Payload<D>>,
      options?: Plugin.PublishOptions
    ) => Effect.Effect<ReadonlyArray<Published>, PublishError>
    /**
     * Starts consuming (needs `group`) into the local bus until the scope
     * closes. Subscribe first: an event with no local subscriber is delivered
     * to nobody and acknowledged.
     */
    readonly start: Effect.Effect<
      void,
      RedisUnavailable | Errors.InvalidOptions,
      Scope.Scope | EventBus.EventBus | DeadLetterStore.DeadLetterStore
    >
    /** The stream keys, by event type. */
    readonly streams: ReadonlyMap<string, string>
    readonly stats: Effect.Effect<TransportStats>
  }
>()("@eventfabric/redis/RedisTransport") {
  /**
   * The transport as a layer over `Redis`. Options are decoded by Schema; a
   * bad value fails the layer with `InvalidOptions` naming the path.
   *
   * @example
   * ```ts
   * import { RedisTransport } from "@eventfabric/redis"
   * declare const definitions: ReadonlyArray<import("@eventfabric/core").Event.Definition>
   * const Transport = RedisTransport.RedisTransport.layer({ definitions, group: "billing", maxLen: 50_000 })
   * ```
   */
  static readonly layer = (
    options: TransportOptions.TransportOptions
  ): Layer.Layer<RedisTransport, Errors.InvalidOptions, Redis> => Layer.effect(RedisTransport, make(options))
}

/**
 * Builds the transport over the `Redis` service in context. Its publish
 * writer lives in the scope; closing it fails publishes still waiting.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 * import { RedisConnection, RedisTransport } from "@eventfabric/redis"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ id: Schema.String }) })
 * const program = Effect.gen(function*() {
 *   const transport = yield* RedisTransport.make({ definitions: [Placed] })
 *   yield* transport.publish(Placed, { id: "o-1" })
 * }).pipe(Effect.scoped, Effect.provide(RedisConnection.layer()))
 * ```
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: TransportOptions.TransportOptions) {
  const decoded = yield* Options.decode(TransportOptions.TransportOptions, "RedisTransport", options)
  const random = Math.random().toString(36).slice(2, 8)
  const resolved = TransportOptions.resolve(decoded, `${hostname()}-${process.pid}-${random}`)
  const names = new Set<string>()
  for (const d of resolved.definitions) {
    if (names.has(d.name)) {
      return yield* invalid(`Expected unique definitions, ${d.name} appears twice\n  at ["definitions"]`)
    }
    names.add(d.name)
  }
  const redis = yield* Redis
  const counters = Stats.make()
  const beforeEncode = yield* Transport.encodeStep(resolved.beforeEncode)
  const codecs = new Map(
    resolved.definitions.map((d) => [d.name, Codec.make(d, `${resolved.prefix}:${d.name}`, beforeEncode)])
  )
  const patterns = resolved.consume.map(Selector.pattern)
  const consumed = [...codecs.values()].filter((c) => patterns.some((p) => p.regex.test(c.definition.name)))

  const start = Effect.suspend((): RedisTransport["Service"]["start"] => {
    const group = resolved.group
    if (group === undefined) return invalid(`Expected a consumer group to consume\n  at ["group"]`)
    if (consumed.length === 0) return invalid(`Expected patterns matching at least one definition\n  at ["consume"]`)
    return Consumer.start(redis, { ...resolved, group }, consumed, counters)
  })

  const publisher = yield* Publisher.make(redis, resolved, codecs, counters)
  return RedisTransport.of({
    publish: publisher.publish,
    publishAll: publisher.publishAll,
    start,
    streams: new Map([...codecs].map(([type, c]) => [type, c.stream])),
    stats: Effect.sync(() => ({ ...counters }))
  })
})

/**
 * The engine-neutral `Transport` over Redis Streams, with the dead-letter
 * store bound when the layer builds.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { RedisConnection, RedisDeadLetterStore, RedisTransport } from "@eventfabric/redis"
 * declare const definitions: ReadonlyArray<import("@eventfabric/core").Event.Definition>
 * const Live = RedisTransport.layerTransport({ definitions, group: "billing" }).pipe(
 *   Layer.provide(RedisDeadLetterStore.layer()),
 *   Layer.provide(RedisConnection.layer())
 * )
 * ```
 * @since 0.1.0
 */
export const layerTransport = (
  options: TransportOptions.TransportOptions
): Layer.Layer<Transport.Transport, Errors.InvalidOptions, Redis | DeadLetterStore.DeadLetterStore> =>
  Layer.effect(
    Transport.Transport,
    Effect.gen(function* () {
      const redis = yield* make(options)
      const dlq = yield* DeadLetterStore.DeadLetterStore
      return Transport.Transport.of({
        engine: "redis",
        publish: redis.publish,
        publishAll: redis.publishAll,
        start: Effect.provideService(redis.start, DeadLetterStore.DeadLetterStore, dlq),
        stats: redis.stats
      })
    })
  )

const invalid = (message: string) => Effect.fail(new Errors.InvalidOptions({ target: "RedisTransport", message }))
