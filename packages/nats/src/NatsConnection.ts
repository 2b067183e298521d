/**
 * The NATS connection with the JetStream client and manager over it, as a
 * service; reconnects forever with capped exponential backoff.
 *
 * @since 0.1.0
 */
import { type Errors, Options } from "@eventfabric/core"
import { Backoff } from "@eventfabric/transport"
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { type NatsConnection as Connection, connect } from "@nats-io/transport-node"
import { Context, Duration, Effect, Layer, Schema } from "effect"
import { messageOf } from "./internal/errors.ts"
import { NatsUnavailableError } from "./NatsErrors.ts"

/**
 * Options: `servers` (default `nats://127.0.0.1:4222`), `connectTimeout` (5 s),
 * `reconnect` backoff (`base` 100 ms doubling up to `max` 5 s, with jitter).
 *
 * @since 0.1.0
 */
export const ConnectionOptions = Schema.Struct({
  servers: Schema.optional(
    Schema.Array(Schema.String.check(Schema.isPattern(/^(nats|tls):\/\/.+/, { expected: "a nats:// URL" })))
  ),
  connectTimeout: Schema.optional(Options.DurationInput),
  reconnect: Schema.optional(Schema.Struct({ base: Options.DurationInput, max: Options.DurationInput }))
})

/**
 * The connection service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NatsConnection } from "@eventfabric/nats"
 * const rtt = Effect.flatMap(NatsConnection.NatsConnection, (c) => Effect.promise(() => c.nc.rtt()))
 * ```
 * @category services
 * @since 0.1.0
 */
export class NatsConnection extends Context.Service<
  NatsConnection,
  {
    readonly nc: Connection
    readonly js: JetStreamClient
    readonly jsm: JetStreamManager
    /** Reconnections since the connection opened. */
    readonly reconnects: () => number
  }
>()("@eventfabric/nats/NatsConnection") {
  /**
   * The connection as a layer; closed (drained) when its scope closes.
   *
   * @example
   * ```ts
   * import { NatsConnection } from "@eventfabric/nats"
   * const Live = NatsConnection.NatsConnection.layer({ servers: ["nats://127.0.0.1:4222"] })
   * ```
   */
  static readonly layer = (
    options?: typeof ConnectionOptions.Encoded
  ): Layer.Layer<NatsConnection, Errors.InvalidOptions | NatsUnavailableError> =>
    Layer.effect(NatsConnection, make(options))
}

/**
 * The connection layer (module-level alias of `NatsConnection.layer`).
 *
 * @example
 * ```ts
 * import { NatsConnection } from "@eventfabric/nats"
 * const Live = NatsConnection.layer()
 * ```
 * @since 0.1.0
 */
export const layer = (options?: typeof ConnectionOptions.Encoded) => NatsConnection.layer(options)

const make = Effect.fnUntraced(function* (options?: typeof ConnectionOptions.Encoded) {
  const decoded = yield* Options.decode(ConnectionOptions, "NatsConnection", options)
  const backoff = decoded.reconnect ?? { base: Duration.millis(100), max: Duration.seconds(5) }
  let attempt = 0
  let reconnects = 0
  const nc = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        connect({
          servers: [...(decoded.servers ?? ["nats://127.0.0.1:4222"])],
          timeout: Duration.toMillis(decoded.connectTimeout ?? Duration.seconds(5)),
          maxReconnectAttempts: -1,
          reconnectDelayHandler: () => Duration.toMillis(Backoff.delay(backoff, ++attempt))
        }),
      catch: (error) => new NatsUnavailableError({ operation: "connect", message: messageOf(error) })
    }),
    (nc) => Effect.promise(() => nc.drain().catch(() => nc.close()))
  )
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "reconnect") {
        reconnects++
        attempt = 0
      }
    }
  })().catch(() => {})
  const jsm = yield* Effect.tryPromise({
    try: () => jetstreamManager(nc),
    catch: (error) => new NatsUnavailableError({ operation: "jetstream", message: messageOf(error) })
  })
  return NatsConnection.of({ nc, js: jetstream(nc), jsm, reconnects: () => reconnects })
})
