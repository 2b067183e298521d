import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { bus, OrderPlaced, Task, withBus } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

describe("shutdown", () => {
  it.effect("closing the bus under load drains every event, then refuses new ones", () =>
    Effect.gen(function* () {
      const b = yield* Effect.gen(function* () {
        const b = yield* bus
        yield* b.subscribe(Task, () => Effect.void, { name: "sync", mailbox: 20_000 })
        yield* b.subscribe(Task, () => Effect.yieldNow, { name: "async", mailbox: 20_000, concurrency: 8 })
        for (let n = 0; n < 10_000; n++) yield* b.publish(Task, { n })
        return b
      }).pipe(withBus())
      const stats = yield* b.stats
      expect(stats.closed).toBe(true)
      expect(stats.published).toBe(10_000)
      expect(stats.deliveries).toMatchObject({ total: 20_000, succeeded: 20_000, interrupted: 0 })
      expectBalanced(stats)
      const refused = yield* Effect.flip(b.publish(OrderPlaced, { orderId: "late", total: 1 }))
      expect(refused._tag).toBe("BusClosedError")
      expect((yield* b.stats).refused).toBe(1)
    })
  )

  it.effect("what is still running when the grace runs out is interrupted and counted", () =>
    Effect.gen(function* () {
      const run = yield* Effect.forkChild(
        Effect.gen(function* () {
          const b = yield* bus
          yield* b.subscribe(Task, () => Effect.never, { name: "hangs", timeout: "1 hour", concurrency: 2 })
          yield* b.subscribe(Task, () => Effect.void, { name: "ok" })
          for (let n = 0; n < 10; n++) yield* b.publish(Task, { n })
          return b
        }).pipe(withBus({ shutdownGrace: "2 seconds" })),
        { startImmediately: true }
      )
      yield* Effect.yieldNow
      yield* TestClock.adjust("1999 millis")
      expect(run.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const b = yield* Fiber.join(run)
      const stats = yield* b.stats
      const hangs = stats.subscriptions.find((s) => s.name === "hangs")
      // two were running, eight waited in the mailbox: all interrupted
      expect(hangs).toMatchObject({ interrupted: 10, succeeded: 0, inFlight: 0, queued: 0 })
      expect(stats.deliveries.succeeded).toBe(10)
      expectBalanced(stats)
    })
  )

  it.effect("a subscription closed before the bus does not hold shutdown", () =>
    Effect.gen(function* () {
      const b = yield* Effect.scoped(
        Effect.gen(function* () {
          const b = yield* bus
          yield* b.subscribe(Task, () => Effect.void)
          yield* b.publish(Task, { n: 1 })
          return b
        })
      ).pipe(withBus())
      const stats = yield* b.stats
      expect(stats.closed).toBe(true)
      expectBalanced(stats)
    })
  )
})
