import { randomUUID } from "node:crypto"
import { EventBus } from "@eventfabric/core"
import { DeadLetterStore } from "@eventfabric/plugins"
import { type Duration, Effect, Layer, type Scope } from "effect"
import { NatsConnection, type NatsOptions, NatsTransport } from "../src/index.ts"
import { ENV_URL } from "./server.ts"

export { definitions, OrderPlaced, OrderShipped } from "./fixtures/definitions.ts"

/** The suite's server (from the global setup), or undefined: then the suites skip. */
export const NATS_URL = process.env[ENV_URL] || undefined
export const skip = NATS_URL === undefined

export const connection = (url = NATS_URL!) =>
  NatsConnection.layer({ servers: [url], reconnect: { base: "50 millis", max: "500 millis" } })

/** A fresh stream name and subject prefix; `cleanup` deletes the stream. */
export const unique = () => {
  const id = randomUUID().replaceAll("-", "").slice(0, 10)
  return { stream: `T_${id}`, subjectPrefix: `t${id}` }
}

export const deleteStream = (stream: string, url = NATS_URL!) =>
  Effect.flatMap(NatsConnection.NatsConnection, (c) =>
    Effect.promise(() => c.jsm.streams.delete(stream).catch(() => false))
  ).pipe(Effect.scoped, Effect.provide(connection(url)), Effect.ignore)

/** Runs `self` with a unique stream, deleting it afterwards, within `limit`. */
export const withStream = <A, E, R>(
  self: (names: ReturnType<typeof unique>) => Effect.Effect<A, E, R>,
  limit: Duration.Input = "20 seconds"
) => {
  const names = unique()
  return self(names).pipe(Effect.timeout(limit), Effect.scoped, Effect.ensuring(deleteStream(names.stream)))
}

/** One "process": its own connection, bus, DLQ and transport; consuming when it has a group. */
export const startNode = Effect.fnUntraced(function* <E>(
  options: NatsOptions.NatsOptions,
  setup: (bus: EventBus.EventBus["Service"]) => Effect.Effect<void, E, Scope.Scope>,
  url = NATS_URL!
) {
  const context = yield* Layer.build(
    Layer.mergeAll(EventBus.EventBus.layer(), NatsTransport.layer(options), DeadLetterStore.layerMemory()).pipe(
      Layer.provide(connection(url))
    )
  )
  return yield* Effect.gen(function* () {
    yield* setup(yield* EventBus.EventBus)
    const transport = yield* NatsTransport.NatsTransport
    if (options.group !== undefined) yield* transport.start
    return { transport, dlq: yield* DeadLetterStore.DeadLetterStore }
  }).pipe(Effect.provide(context))
})

export const waitUntil = <E, R>(condition: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function* () {
    while (!(yield* condition)) yield* Effect.sleep("20 millis")
  })
