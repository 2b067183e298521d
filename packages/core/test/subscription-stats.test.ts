import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { TestClock } from "effect/testing"
import { EventBus, Selector } from "../src/index.ts"
import { Alarm, OrderPlaced, OrderShipped, Tick, withBus } from "./fixtures.ts"

const find = (name: string) =>
  Effect.gen(function* () {
    const b = yield* EventBus.EventBus
    return (yield* b.stats).subscriptions.find((s) => s.name === name)!
  })

describe("subscription stats describe the subscription", () => {
  it.effect("carry the selector, whether it is keyed, and each lane's mailbox strategy", () =>
    Effect.gen(function* () {
      const b = yield* EventBus.EventBus
      yield* b.subscribe(OrderPlaced, () => Effect.void, {
        name: "one",
        concurrency: 3,
        orderBy: (e) => e.payload.orderId
      })
      yield* b.subscribe([OrderPlaced, OrderShipped], () => Effect.void, { name: "two" })
      yield* b.subscribe(Selector.pattern("orders.**"), () => Effect.void, {
        name: "pattern",
        mailbox: { capacity: 8, strategy: "dropping" }
      })
      const one = yield* find("one")
      expect([one.selector, one.keyed, one.concurrency]).toEqual(["orders.placed", true, 3])
      // The default mailbox follows each lane's strategy.
      expect(one.mailboxes.critical.strategy).toBe("suspend")
      expect(one.mailboxes.normal.strategy).toBe("suspend")
      expect(one.mailboxes.low.strategy).toBe("sliding")
      const two = yield* find("two")
      expect([two.selector, two.keyed]).toEqual(["orders.placed|orders.shipped", false])
      const pattern = yield* find("pattern")
      expect(pattern.selector).toBe("orders.**")
      expect(pattern.mailbox).toBe(8)
      expect(Object.values(pattern.mailboxes).map((m) => m.strategy)).toEqual(["dropping", "dropping", "dropping"])
    }).pipe(withBus({ lanes: { low: { capacity: 16, strategy: "sliding" } } }))
  )

  it.effect("count what waits in each lane's mailbox apart", () =>
    Effect.gen(function* () {
      const b = yield* EventBus.EventBus
      const gate = yield* Deferred.make<void>()
      yield* b.subscribe(Selector.pattern("**"), () => Deferred.await(gate), { name: "all", mailbox: 8 })
      yield* b.publish(Alarm, { n: 1 })
      yield* TestClock.adjust("1 millis")
      for (let i = 0; i < 3; i++) yield* b.publish(OrderPlaced, { orderId: `o${i}`, total: i })
      for (let i = 0; i < 3; i++) yield* b.publish(Tick, { n: i })
      yield* b.publish(Alarm, { n: 2 })
      yield* TestClock.adjust("1 millis")
      const all = yield* find("all")
      // The first alarm and the first order run (CRITICAL has its own worker); the rest wait in their lane's ring.
      expect(all.inFlight).toBe(2)
      expect([all.mailboxes.critical.queued, all.mailboxes.normal.queued, all.mailboxes.low.queued]).toEqual([1, 2, 3])
      expect(all.queued).toBe(6)
      yield* Deferred.succeed(gate, undefined)
    }).pipe(withBus())
  )
})
