import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Event, EventBus } from "../src/index.ts"

const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
})

describe("smoke", () => {
  it.effect("delivers", () =>
    Effect.gen(function*() {
      const bus = yield* EventBus.EventBus
      const seen: Array<string> = []
      yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId)), { name: "a" })
      yield* bus.publish(OrderPlaced, { orderId: "o-1", total: 1 })
      const r = yield* bus.publishAndWait(OrderPlaced, { orderId: "o-2", total: 1 })
      yield* bus.drain
      const stats = yield* bus.stats
      expect(seen).toEqual(["o-1", "o-2"])
      expect(r.status).toBe("delivered")
      expect(stats.deliveries.succeeded).toBe(2)
    }).pipe(Effect.provide(EventBus.EventBus.layer())))
})
