import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { bus, OrderPlaced, Task, withBus } from "./fixtures.ts"

describe("events as a Stream, and redeliver", () => {
  it.effect("bus.events streams matching envelopes in order", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const fiber = yield* Effect.forkChild(
        b.events(Task).pipe(
          Stream.map((e) => e.payload.n),
          Stream.take(5),
          Stream.runCollect
        ),
        { startImmediately: true }
      )
      yield* Effect.yieldNow
      for (let n = 0; n < 5; n++) yield* b.publish(Task, { n })
      expect(yield* Fiber.join(fiber)).toEqual([0, 1, 2, 3, 4])
      yield* b.drain
      // the stream's subscription is gone once the stream ended
      expect((yield* b.stats).subscriptions).toEqual([])
    }).pipe(withBus())
  )

  it.effect("redeliver sends an envelope to one named subscription only", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const a: Array<number> = []
      const other: Array<number> = []
      let envelope: unknown
      yield* b.subscribe(
        OrderPlaced,
        (e) =>
          Effect.sync(() => {
            envelope = e
            a.push(e.attempt)
          }),
        { name: "a" }
      )
      yield* b.subscribe(OrderPlaced, (e) => Effect.sync(() => other.push(e.attempt)), { name: "other" })
      yield* b.publishAndWait(OrderPlaced, { orderId: "o", total: 1 })
      const outcome = yield* b.redeliver("a", { ...(envelope as never as object), attempt: 2 } as never)
      expect(outcome).toMatchObject({ subscription: "a", status: "succeeded" })
      expect(a).toEqual([1, 2])
      expect(other).toEqual([1])
      const missing = yield* Effect.flip(b.redeliver("nobody", envelope as never))
      expect(missing._tag).toBe("NoSubscription")
    }).pipe(withBus())
  )
})
