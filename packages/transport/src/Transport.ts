/**
 * The contract every engine (Redis Streams, NATS JetStream, the next one)
 * implements, so code that bridges buses across processes does not care which
 * engine carries the events:
 *
 * - `publish` / `publishAll` append typed envelopes (encoded through the
 *   definition's Schema) and answer once the engine acknowledged them;
 * - `start` consumes into the local `EventBus`: each message is published
 *   there with `publishAndWait`, and settled by {@link verdict} once every
 *   local delivery ended: acknowledged, or handed back for redelivery (nack),
 *   or dead-lettered (`DecodeFailed`, `MaxDeliveries`) and acknowledged so a
 *   poison message never blocks the stream;
 * - failures are typed (`_tag` + `message`); `stats` counts every state.
 *
 * The conformance suite (`@eventfabric/transport-conformance`) checks these
 * promises against a real server; an engine is done when it passes it.
 *
 * @since 0.1.0
 */
import type { Delivery, Envelope, Errors, Event, Plugin } from "@eventfabric/core"
import { EventBus, Event as EventModule } from "@eventfabric/core"
import { Cause, Context, Duration, Effect, type Exit, Schema, type Scope } from "effect"

/**
 * What a publish answers once the engine stored the event: the envelope id,
 * its type, where it sits in the engine (a Redis entry id, a JetStream stream
 * sequence), and whether the engine dropped it as a duplicate of an earlier
 * publish of the same envelope id.
 *
 * @since 0.1.0
 */
export interface Published {
  readonly id: string
  readonly type: string
  readonly position: string
  readonly duplicate: boolean
}

/**
 * Counters of one process's transport. Every message received ends in
 * `acknowledged` (handled, or dead-lettered and acknowledged), `redelivered`
 * (handed back to the engine) or is still `inFlight`.
 *
 * @since 0.1.0
 */
export interface Stats {
  readonly published: number
  /** Publishes the engine refused as duplicates (same envelope id inside its window). */
  readonly duplicates: number
  readonly received: number
  readonly acknowledged: number
  readonly redelivered: number
  readonly deadLettered: number
  readonly decodeFailed: number
  readonly deduplicated: number
  readonly inFlight: number
  readonly reconnects: number
  /** Times the engine was seen to have lost stored events (see {@link DataLost}). */
  readonly dataLost: number
}

/**
 * Any engine error: a tag to match on and a message for people.
 *
 * @since 0.1.0
 */
export interface TransportError {
  readonly _tag: string
  readonly message: string
}

/**
 * The engine-neutral service. Each engine's package provides it beside its
 * own richer service (`RedisTransport.layerTransport`,
 * `NatsTransport.layerTransport`); the dead-letter store is bound when that
 * layer builds, so `start` needs only the bus and a scope.
 *
 * @since 0.1.0
 */
export interface Service {
  readonly engine: string
  readonly publish: <D extends Event.Definition>(
    definition: D,
    payload: Event.Payload<D>,
    options?: Plugin.PublishOptions
  ) => Effect.Effect<Published, TransportError>
  /** Many events of one definition in one round trip; answers in order. */
  readonly publishAll: <D extends Event.Definition>(
    definition: D,
    payloads: ReadonlyArray<Event.Payload<D>>,
    options?: Plugin.PublishOptions
  ) => Effect.Effect<ReadonlyArray<Published>, TransportError>
  /** Consumes into the local bus until the scope closes. Subscribe first. */
  readonly start: Effect.Effect<void, TransportError, Scope.Scope | EventBus.EventBus>
  readonly stats: Effect.Effect<Stats>
}

/**
 * The engine-neutral service key.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 * import { Transport } from "@eventfabric/transport"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ id: Schema.String }) })
 * const program = Effect.gen(function*() {
 *   const transport = yield* Transport.Transport
 *   yield* transport.publish(Placed, { id: "o-1" })
 * })
 * ```
 * @category services
 * @since 0.1.0
 */
export class Transport extends Context.Service<Transport, Service>()("@eventfabric/transport/Transport") {}

/**
 * A step applied to every envelope right before it is encoded for the engine:
 * the boundary where redaction of what leaves the process plugs in.
 *
 * @since 0.1.0
 */
export type Encode = (envelope: Envelope.Envelope) => Envelope.Envelope

/**
 * The step an engine applies before encoding: the local bus's egress (masked
 * when the Redaction plugin is installed), then the user's `beforeEncode`.
 * A process without a bus in context applies only the user's step. The
 * egress is read per envelope, so plugins installed later still apply.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Transport } from "@eventfabric/transport"
 * const step = Effect.runSync(Transport.encodeStep(undefined)) // undefined: no bus, no user step
 * ```
 * @since 0.2.0
 */
export const encodeStep = (user: Encode | undefined): Effect.Effect<Encode | undefined> =>
  Effect.map(Effect.serviceOption(EventBus.EventBus), (bus) => {
    if (bus._tag === "None") return user
    const b = bus.value
    return user === undefined ? (e) => b.egress.envelope(e) : (e) => user(b.egress.envelope(e))
  })

/**
 * How a consumed message is settled once `publishAndWait` into the local bus
 * ended:
 *
 * - `ack`: every delivery succeeded, or its failure was stored by a local
 *   dead-letter plugin (nothing is left to retry);
 * - `nack`: a delivery failed, timed out, overflowed or was refused by an open
 *   circuit, and no local DLQ took it: redeliver after the redelivery delay;
 * - `retain`: interrupted (shutdown) or the bus refused it (closed, lane
 *   full): neither ack nor nack, the engine redelivers after its ack wait;
 * - `decodeFailed`: the bus refused the payload (`InvalidEvent`): dead-letter
 *   it with reason `DecodeFailed` and acknowledge.
 *
 * @example
 * ```ts
 * import { Exit } from "effect"
 * import { Transport } from "@eventfabric/transport"
 * Transport.verdict(Exit.succeed({ id: "1", type: "a.b", status: "delivered", deliveries: [], succeeded: 0, failed: 0 }))
 * // { _tag: "ack" }
 * ```
 * @since 0.1.0
 */
export const verdict = (exit: Exit.Exit<EventBus.PublishResult, Errors.PublishError>): Verdict => {
  if (exit._tag === "Failure") {
    const error = Cause.findErrorOption(exit.cause)
    if (error._tag === "Some" && error.value._tag === "InvalidEvent") {
      return { _tag: "decodeFailed", message: error.value.message }
    }
    return RETAIN
  }
  const result = exit.value
  if (result.status === "interrupted") return RETAIN
  let nack = false
  // [schedule] the latest "retry later after d" of the failed deliveries, unless one failed without one
  let delay: Duration.Duration | undefined
  let plain = false
  for (const d of result.deliveries) {
    if (d.status === "interrupted") return RETAIN
    if (d.status !== "succeeded" && !d.deadLettered) {
      nack = true
      const later = retryAfter(d.error)
      if (later === undefined) plain = true
      else delay = delay === undefined ? later : Duration.max(delay, later)
    }
  }
  if (!nack) return ACK
  return plain || delay === undefined ? NACK : { _tag: "nack", delay }
}

/**
 * The delay a failed delivery asked to be redelivered after: the `delay` of
 * a `RetryLaterError` (from `@eventfabric/plugins`' Retry, recognised by its
 * tag so this package does not depend on plugins) inside its `HandlerError`.
 *
 * @example
 * ```ts
 * import { Transport } from "@eventfabric/transport"
 * Transport.retryAfter(undefined) // undefined
 * ```
 * @since 0.2.0
 */
export const retryAfter = (error: Delivery.DeliveryError | undefined): Duration.Duration | undefined => {
  if (error?._tag !== "HandlerError") return undefined
  const found = Cause.findErrorOption(error.cause)
  if (found._tag === "None") return undefined
  const value = found.value as { readonly _tag?: unknown; readonly delay?: unknown } | null
  return typeof value === "object" &&
    value !== null &&
    value._tag === "RetryLaterError" &&
    Duration.isDuration(value.delay)
    ? value.delay
    : undefined
}

/**
 * @since 0.1.0
 */
export type Verdict =
  | { readonly _tag: "ack" }
  /** `delay`: when every failed delivery asked for one (Retry on a transported event), redeliver after it. */
  | { readonly _tag: "nack"; readonly delay?: Duration.Duration | undefined }
  | { readonly _tag: "retain" }
  | { readonly _tag: "decodeFailed"; readonly message: string }

const ACK: Verdict = { _tag: "ack" }
const NACK: Verdict = { _tag: "nack" }
const RETAIN: Verdict = { _tag: "retain" }

/**
 * Why an engine's stored events are known to be gone.
 *
 * - `StreamMissing`: a stream the transport wrote to no longer exists;
 * - `GroupMissing`: the consumer group vanished (its pending entries with it);
 * - `ServerRestarted`: the server restarted (its run id changed) and did not
 *   keep what it had (no persistence, or not all of it).
 *
 * @since 0.1.0
 */
export const DataLossReason = Schema.Literals(["StreamMissing", "GroupMissing", "ServerRestarted"])

/**
 * Published on the local bus (CRITICAL lane) when the transport finds that
 * events the engine had acknowledged may be gone, and counted in
 * `stats.dataLost`. Subscribe to it to alert: the engine cannot tell which
 * events were lost, only that some may have been.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EventBus } from "@eventfabric/core"
 * import { Transport } from "@eventfabric/transport"
 *
 * const alert = Effect.gen(function*() {
 *   const bus = yield* EventBus.EventBus
 *   yield* bus.subscribe(Transport.DataLost, (e) => Effect.logError(`${e.payload.engine}: ${e.payload.detail}`))
 * })
 * ```
 * @since 0.1.0
 */
export const DataLost = EventModule.define("system.transport_data_lost", {
  payload: Schema.Struct({
    engine: Schema.String,
    reason: DataLossReason,
    stream: Schema.String,
    detail: Schema.String
  }),
  priority: "critical"
})

/**
 * Publishes {@link DataLost} on the bus in context, never failing (a closed
 * bus cannot take it; the counter already has it).
 *
 * @since 0.1.0
 */
export const reportDataLost = (bus: EventBus.EventBus["Service"], payload: typeof DataLost.payload.Type) =>
  Effect.ignore(bus.publish(DataLost, payload))

/**
 * The counters as an engine keeps them: plain numbers mutated in place.
 *
 * @since 0.1.0
 */
export type Counters = { -readonly [K in keyof Stats]: number }

/**
 * Fresh counters, all zero.
 *
 * @example
 * ```ts
 * import { Transport } from "@eventfabric/transport"
 * const counters = Transport.makeCounters()
 * counters.published++
 * ```
 * @since 0.1.0
 */
export const makeCounters = (): Counters => ({
  published: 0,
  duplicates: 0,
  received: 0,
  acknowledged: 0,
  redelivered: 0,
  deadLettered: 0,
  decodeFailed: 0,
  deduplicated: 0,
  inFlight: 0,
  reconnects: 0,
  dataLost: 0
})
