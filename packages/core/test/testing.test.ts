import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Delivery, Plugin } from "../src/index.ts"
import { TestKit } from "../src/testing.ts"
import { bus, OrderPlaced, OrderShipped, Task } from "./fixtures.ts"

/** A stand-in dead-letter plugin: every failure is "stored" and reported as DeadLettered. */
const FakeDeadLetter = Plugin.make(
  "fake-dlq",
  Effect.succeed(() =>
    Effect.succeed({
      delivery: (next) => (delivery) =>
        Effect.catchIf(
          next(delivery),
          (e): e is Delivery.DeliveryError => e._tag !== "DeadLettered",
          (error) => Effect.fail(new Delivery.DeadLettered({ error, entryId: `dlq-${delivery.envelope.id}` }))
        )
    })
  )
)

describe("TestKit", () => {
  it.effect("records every published envelope; expectPublished finds one by payload or names what was published", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const kit = yield* TestKit
      yield* b.publish(OrderPlaced, { orderId: "o-1", total: 10 })
      yield* b.publish(OrderPlaced, { orderId: "o-2", total: 20 })
      const found = yield* kit.expectPublished(OrderPlaced, (p) => p.total > 15)
      expect(found.payload.orderId).toBe("o-2")
      expect((yield* kit.published).map((p) => p.status)).toEqual(["accepted", "accepted"])
      const missing = yield* Effect.flip(kit.expectPublished(OrderPlaced, (p) => p.total > 100))
      expect(missing._tag).toBe("ExpectationError")
      expect(missing.message).toContain(`"orderId":"o-1"`)
      const none = yield* Effect.flip(kit.expectPublished(OrderShipped))
      expect(none.message).toBe("no orders.shipped was published (published: orders.placed)")
      yield* kit.expectNotPublished(OrderShipped)
      expect((yield* Effect.flip(kit.expectNotPublished(OrderPlaced)))._tag).toBe("ExpectationError")
    }).pipe(Effect.provide(TestKit.layerBus()))
  )

  it.effect("awaitConsumed waits, under TestClock, until the subscription handled a matching envelope", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const kit = yield* TestKit
      const sub = yield* b.subscribe(Task, () => Effect.sleep("1 second"), { name: "slow" })
      yield* b.publish(Task, { n: 1 })
      yield* b.publish(Task, { n: 2 })
      const waiting = yield* Effect.forkChild(
        kit.awaitConsumed(sub, (e) => e.payload.n === 2),
        { startImmediately: true }
      )
      yield* TestClock.adjust("1 second")
      expect(waiting.pollUnsafe()).toBeUndefined() // n = 1 done, n = 2 still running
      yield* TestClock.adjust("1 second")
      const envelope = yield* Fiber.join(waiting)
      expect(envelope.payload).toEqual({ n: 2 })
      // already consumed: answers at once
      expect((yield* kit.awaitConsumed("slow")).payload).toEqual({ n: 1 })
      expect(yield* kit.consumed).toHaveLength(2)
    }).pipe(Effect.provide(TestKit.layerBus()))
  )

  it.effect("failed deliveries are recorded with their error and are not consumed", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const kit = yield* TestKit
      yield* b.subscribe(Task, (e) => (e.payload.n < 0 ? Effect.fail("negative") : Effect.void), { name: "checker" })
      yield* b.publish(Task, { n: -1 })
      yield* b.publish(Task, { n: 1 })
      const failure = yield* kit.awaitFailed("checker")
      expect(failure.error?._tag).toBe("HandlerError")
      expect(failure.envelope.payload).toEqual({ n: -1 })
      expect(failure.deadLettered).toBe(false)
      yield* kit.awaitConsumed("checker")
      expect((yield* kit.consumed).map((d) => d.envelope.payload)).toEqual([{ n: 1 }])
      expect(yield* kit.deadLettered).toEqual([])
    }).pipe(Effect.provide(TestKit.layerBus()))
  )

  it.effect("as the outermost plugin it sees the dead-letter plugin's verdict", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const kit = yield* TestKit
      yield* b.subscribe(Task, () => Effect.fail("boom"), { name: "broken" })
      yield* b.publish(Task, { n: 1 })
      const failure = yield* kit.awaitFailed("broken")
      expect(failure.deadLettered).toBe(true)
      expect(yield* kit.deadLettered).toHaveLength(1)
    }).pipe(Effect.provide(TestKit.layerBus(undefined, FakeDeadLetter)))
  )

  it.effect("a delayed publish is recorded when the schedule releases it", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const kit = yield* TestKit
      yield* b.publish(Task, { n: 1 }, { delay: "10 seconds" })
      yield* kit.expectNotPublished(Task)
      const waiting = yield* Effect.forkChild(kit.awaitPublished(Task), { startImmediately: true })
      yield* TestClock.adjust("10 seconds")
      expect((yield* Fiber.join(waiting)).payload).toEqual({ n: 1 })
    }).pipe(Effect.provide(TestKit.layerBus()))
  )

  it.effect("clear forgets what was recorded", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const kit = yield* TestKit
      yield* b.publish(Task, { n: 1 })
      yield* kit.clear
      expect(yield* kit.published).toEqual([])
    }).pipe(Effect.provide(TestKit.layerBus()))
  )
})
