import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Scope } from "effect"
import { Selector } from "../src/index.ts"
import { bus, OrderPlaced, OrderShipped, PaymentFailed, withBus } from "./fixtures.ts"

describe("delivery", () => {
  it.effect("delivers a typed payload to one subscriber", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<{ orderId: string; total: number }> = []
      yield* b.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload)), { name: "one" })
      const receipt = yield* b.publish(OrderPlaced, { orderId: "o-1", total: 42 })
      yield* b.drain
      expect(receipt.status).toBe("accepted")
      expect(receipt.lane).toBe("normal")
      expect(seen).toEqual([{ orderId: "o-1", total: 42 }])
    }).pipe(withBus())
  )

  it.effect("fans out to every subscriber of the type", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const counts = [0, 0, 0]
      for (const i of [0, 1, 2]) {
        yield* b.subscribe(OrderPlaced, () => Effect.sync(() => counts[i]!++), { name: `s${i}` })
      }
      for (let n = 0; n < 10; n++) yield* b.publish(OrderPlaced, { orderId: `o-${n}`, total: n })
      yield* b.drain
      expect(counts).toEqual([10, 10, 10])
      const stats = yield* b.stats
      expect(stats.deliveries.total).toBe(30)
      expect(stats.deliveries.succeeded).toBe(30)
    }).pipe(withBus())
  )

  it.effect("routes by several definitions and by pattern", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const several: Array<string> = []
      const orders: Array<string> = []
      const failures: Array<string> = []
      const everything: Array<string> = []
      yield* b.subscribe([OrderPlaced, PaymentFailed], (e) => Effect.sync(() => several.push(e.type)))
      yield* b.subscribe(Selector.pattern("orders.*"), (e) => Effect.sync(() => orders.push(e.type)))
      yield* b.subscribe(Selector.pattern("*.failed"), (e) => Effect.sync(() => failures.push(e.type)))
      yield* b.subscribe(Selector.pattern("**"), (e) => Effect.sync(() => everything.push(e.type)))
      yield* b.publish(OrderPlaced, { orderId: "o", total: 1 })
      yield* b.publish(OrderShipped, { orderId: "o" })
      yield* b.publish(PaymentFailed, { orderId: "o", reason: "card" })
      yield* b.drain
      expect(several).toEqual(["orders.placed", "payments.failed"])
      expect(orders).toEqual(["orders.placed", "orders.shipped"])
      expect(failures).toEqual(["payments.failed"])
      expect(everything).toEqual(["orders.placed", "orders.shipped", "payments.failed"])
    }).pipe(withBus())
  )

  it.effect("applies a subscription's filter", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const big: Array<number> = []
      yield* b.subscribe(OrderPlaced, (e) => Effect.sync(() => big.push(e.payload.total)), {
        filter: (e) => e.payload.total >= 100
      })
      for (const total of [5, 150, 99, 100]) yield* b.publish(OrderPlaced, { orderId: "o", total })
      yield* b.drain
      expect(big).toEqual([150, 100])
      const stats = yield* b.stats
      expect(stats.unrouted).toBe(2)
    }).pipe(withBus())
  )

  it.effect("a filter that throws fails that delivery only", () =>
    Effect.gen(function* () {
      const b = yield* bus
      let other = 0
      yield* b.subscribe(OrderPlaced, () => Effect.void, {
        name: "picky",
        filter: () => {
          throw new Error("bad filter")
        }
      })
      yield* b.subscribe(OrderPlaced, () => Effect.sync(() => other++), { name: "other" })
      const result = yield* b.publishAndWait(OrderPlaced, { orderId: "o", total: 1 })
      expect(other).toBe(1)
      expect(result.deliveries.find((d) => d.subscription === "picky")?.status).toBe("failed")
    }).pipe(withBus())
  )

  it.effect("delivers nothing after the subscription's scope closes", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<string> = []
      const scope = yield* Scope.make()
      yield* b.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId))).pipe(Scope.provide(scope))
      yield* b.publish(OrderPlaced, { orderId: "before", total: 1 })
      yield* b.drain
      yield* Scope.close(scope, Exit.void)
      yield* b.publish(OrderPlaced, { orderId: "after", total: 1 })
      yield* b.drain
      expect(seen).toEqual(["before"])
      const stats = yield* b.stats
      expect(stats.unrouted).toBe(1)
      expect(stats.subscriptions).toEqual([])
      expect(stats.deliveries.succeeded).toBe(1)
    }).pipe(withBus())
  )

  it.effect("publishAndWait reports each subscription's outcome", () =>
    Effect.gen(function* () {
      const b = yield* bus
      yield* b.subscribe(OrderPlaced, () => Effect.void, { name: "ok" })
      yield* b.subscribe(OrderPlaced, () => Effect.fail("nope"), { name: "bad" })
      const result = yield* b.publishAndWait(OrderPlaced, { orderId: "o", total: 1 })
      expect(result.status).toBe("delivered")
      expect(result.succeeded).toBe(1)
      expect(result.failed).toBe(1)
      const bad = result.deliveries.find((d) => d.subscription === "bad")
      expect(bad?.status).toBe("failed")
      expect(bad?.error?._tag).toBe("HandlerError")
      expect(bad?.error?.message).toContain("nope")
    }).pipe(withBus())
  )

  it.effect("publishAndWait with no subscriber ends delivered with no deliveries", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const result = yield* b.publishAndWait(OrderShipped, { orderId: "o" })
      expect(result).toMatchObject({ status: "delivered", deliveries: [], succeeded: 0 })
      expect((yield* b.stats).unrouted).toBe(1)
    }).pipe(withBus())
  )

  it.effect("envelopes carry a unique sortable id, the clock's time and publish options", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const ids: Array<string> = []
      let last: unknown
      yield* b.subscribe(OrderPlaced, (e) =>
        Effect.sync(() => {
          ids.push(e.id)
          last = e
        })
      )
      for (let i = 0; i < 50; i++) {
        yield* b.publish(
          OrderPlaced,
          { orderId: `o${i}`, total: i },
          {
            source: "test",
            correlationId: "c-1",
            headers: { tenant: "t1" }
          }
        )
      }
      yield* b.drain
      expect(new Set(ids).size).toBe(50)
      expect([...ids].sort()).toEqual(ids)
      expect(last).toMatchObject({
        type: "orders.placed",
        priority: "normal",
        publishedAt: 0,
        attempt: 1,
        source: "test",
        correlationId: "c-1",
        headers: { tenant: "t1" }
      })
    }).pipe(withBus())
  )

  it.effect("a subscriber's requirements come from the subscriber's context", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<string> = []
      class Prefix extends Context.Service<Prefix, { readonly value: string }>()("test/Prefix") {}
      yield* b
        .subscribe(OrderPlaced, (e) =>
          Effect.flatMap(Prefix, (p) => Effect.sync(() => seen.push(p.value + e.payload.orderId)))
        )
        .pipe(Effect.provideService(Prefix, { value: "p:" }))
      yield* b.publish(OrderPlaced, { orderId: "o", total: 1 })
      yield* b.drain
      expect(seen).toEqual(["p:o"])
    }).pipe(withBus())
  )
})
