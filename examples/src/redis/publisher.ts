/**
 * The publisher: appends `COUNT` typed orders to Redis and exits.
 *
 *   PREFIX=shop COUNT=20 node examples/src/redis/publisher.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { RedisConnection, RedisTransport } from "@eventfabric/redis"
import { Effect } from "effect"
import { definitions, OrderPlaced, url } from "./events.ts"

const prefix = process.env.PREFIX ?? "shop"
const count = Number(process.env.COUNT ?? 20)

const program = Effect.gen(function* () {
  const transport = yield* RedisTransport.make({ definitions, prefix })
  for (let i = 1; i <= count; i++) {
    yield* transport.publish(OrderPlaced, { orderId: `o-${i}`, total: 10 * i }, { source: "shop-frontend" })
  }
  console.log(`published ${count}`)
}).pipe(Effect.scoped, Effect.provide(RedisConnection.layer({ url })))

NodeRuntime.runMain(program)
