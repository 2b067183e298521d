/**
 * A worker: one consumer of the `fulfilment` group. Each order goes to one
 * worker; prints `handled <orderId>` for the orchestrator.
 *
 *   PREFIX=shop WORKER=w1 node examples/src/redis/worker.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { EventBus } from "@eventfabric/core"
import { RedisConnection, RedisDeadLetterStore, RedisTransport } from "@eventfabric/redis"
import { Effect, Layer } from "effect"
import { definitions, OrderPlaced, url } from "./events.ts"

const prefix = process.env.PREFIX ?? "shop"
const name = process.env.WORKER ?? "worker"

const program = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  yield* bus.subscribe(
    OrderPlaced,
    (e) => Effect.sync(() => console.log(`handled ${e.payload.orderId} by ${name} (${e.payload.total} EUR)`)),
    {
      name: "fulfil"
    }
  )
  yield* (yield* RedisTransport.RedisTransport).start // after subscribing
  console.log(`ready ${name}`)
  return yield* Effect.never
}).pipe(
  Effect.scoped,
  Effect.provide(
    Layer.mergeAll(
      EventBus.layer(),
      RedisTransport.RedisTransport.layer({
        definitions,
        prefix,
        group: "fulfilment",
        consumer: name,
        block: "200 millis"
      }),
      RedisDeadLetterStore.layer({ prefix: `${prefix}:dlq` })
    ).pipe(Layer.provide(RedisConnection.layer({ url })))
  )
)

NodeRuntime.runMain(program)
