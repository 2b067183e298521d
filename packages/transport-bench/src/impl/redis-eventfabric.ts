/** @eventfabric/redis: publishAll from the publisher, the transport into a local bus in each consumer. */
import { EventBus } from "@eventfabric/core"
import { RedisConnection, RedisDeadLetterStore, RedisTransport } from "@eventfabric/redis"
import { Effect, Layer } from "effect"
import { impl as raw } from "./redis-raw.ts"
import { open } from "./scoped.ts"
import { definitions, Tick } from "./tick.ts"
import { type Impl, REDIS_URL } from "./types.ts"

const Connection = RedisConnection.layer({ url: REDIS_URL })
const prefix = (ns: string) => `tbench:${ns}`

export const impl: Impl = {
  engine: "redis",
  name: "@eventfabric/redis",
  setup: raw.setup,
  teardown: raw.teardown,
  publisher: async (ns) => {
    const { value: transport, close } = await open(
      // The connection lives in the outer scope, not just while `make` runs.
      Effect.flatMap(Layer.build(Connection), (context) =>
        Effect.provide(RedisTransport.make({ definitions, prefix: prefix(ns), maxLen: 1_000_000 }), context)
      )
    )
    return { publish: (items) => Effect.runPromise(Effect.asVoid(transport.publishAll(Tick, items))), close }
  },
  consumer: async (ns, name, onEvent) => {
    const { close } = await open(
      Effect.gen(function* () {
        const context = yield* Layer.build(
          Layer.mergeAll(
            EventBus.EventBus.layer({ lanes: { normal: { capacity: 16_384, strategy: "suspend" } } }),
            RedisTransport.RedisTransport.layer({
              definitions,
              prefix: prefix(ns),
              group: "bench",
              consumer: name,
              readCount: 512,
              maxInFlight: 4096,
              maxLen: 1_000_000,
              block: "200 millis"
            }),
            RedisDeadLetterStore.layer({ prefix: `${prefix(ns)}:dlq` })
          ).pipe(Layer.provide(Connection))
        )
        yield* Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          yield* bus.subscribe(Tick, (e) => Effect.sync(() => onEvent(e.payload.sent)), { name: "count" })
          yield* (yield* RedisTransport.RedisTransport).start
        }).pipe(Effect.provide(context))
      })
    )
    return close
  }
}
