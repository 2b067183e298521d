// The same program as consumer.mjs, type-checked as an app would compile it.

import { Event, EventBus, Facade } from "@eventfabric/core"
import { DeadLetter, Retry } from "@eventfabric/plugins"
import { RedisTransport } from "@eventfabric/redis"
import { Effect, Schema } from "effect"

const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
})

const seen: Array<string> = []
const program = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId)), { name: "seen" })
  const receipt = yield* bus.publish(OrderPlaced, { orderId: "o-1", total: 42 })
  yield* bus.drain
  return receipt
}).pipe(Effect.scoped, Effect.provide(EventBus.EventBus.layer()))

await Effect.runPromise(program)

const facade: Facade.Facade = await Facade.make(EventBus.EventBus.layer())
facade.on(OrderPlaced, async (e) => void seen.push(e.payload.orderId), { name: "facade" })
const result: Facade.EmitResult = await facade.emitAndWait(OrderPlaced, { orderId: "o-2", total: 7 })
await facade.close()
if (result.succeeded !== 1) throw new Error("not delivered")

export const wrong = (bus: Facade.Facade) =>
  // @ts-expect-error a wrong payload is a compile error for a consumer too
  bus.emit(OrderPlaced, { orderId: 2, total: 7 })

export const modules = [DeadLetter, Retry, RedisTransport]
