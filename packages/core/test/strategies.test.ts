import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { bus, Task, Tick, withBus, withoutYields } from "./fixtures.ts"

describe("lane strategies at capacity", () => {
  it.effect("suspend: the publisher waits until the dispatcher makes room", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<number> = []
      yield* b.subscribe(Task, (e) => Effect.sync(() => seen.push(e.payload.n)))
      const blocked = yield* withoutYields(
        Effect.gen(function* () {
          yield* b.publish(Task, { n: 0 })
          yield* b.publish(Task, { n: 1 })
          const third = yield* Effect.forkChild(b.publish(Task, { n: 2 }), { startImmediately: true })
          expect(third.pollUnsafe()).toBeUndefined()
          expect((yield* b.stats).lanes.normal.queued).toBe(2)
          return third
        })
      )
      const receipt = yield* Fiber.join(blocked)
      yield* b.drain
      expect(receipt.status).toBe("accepted")
      expect(seen).toEqual([0, 1, 2])
      const stats = yield* b.stats
      expect(stats.lanes.normal).toMatchObject({ accepted: 3, dropped: 0, evicted: 0, dispatched: 3 })
    }).pipe(withBus({ lanes: { normal: { capacity: 2, strategy: "suspend" } } }))
  )

  it.effect("dropping: the new event is refused with a dropped receipt, and counted", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<number> = []
      yield* b.subscribe(Task, (e) => Effect.sync(() => seen.push(e.payload.n)))
      const receipts = yield* withoutYields(
        Effect.forEach([0, 1, 2, 3, 4], (n) => Effect.map(b.publish(Task, { n }), (r) => r.status))
      )
      yield* b.drain
      expect(receipts).toEqual(["accepted", "accepted", "dropped", "dropped", "dropped"])
      expect(seen).toEqual([0, 1])
      const stats = yield* b.stats
      expect(stats.lanes.normal).toMatchObject({ accepted: 2, dropped: 3 })
      expect(stats.dropped).toBe(3)
      expect(stats.published).toBe(5)
    }).pipe(withBus({ lanes: { normal: { capacity: 2, strategy: "dropping" } } }))
  )

  it.effect("sliding: the oldest queued event is evicted, counted, and its waiter told", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<number> = []
      yield* b.subscribe(Tick, (e) => Effect.sync(() => seen.push(e.payload.n)))
      const first = yield* withoutYields(
        Effect.gen(function* () {
          const first = yield* Effect.forkChild(b.publishAndWait(Tick, { n: 0 }), { startImmediately: true })
          for (let n = 1; n < 5; n++) yield* b.publish(Tick, { n })
          return first
        })
      )
      yield* b.drain
      expect(seen).toEqual([3, 4])
      expect((yield* Fiber.join(first)).status).toBe("evicted")
      const stats = yield* b.stats
      expect(stats.lanes.low).toMatchObject({ accepted: 5, evicted: 3, dispatched: 2, dropped: 0 })
    }).pipe(withBus({ lanes: { low: { capacity: 2, strategy: "sliding" } } }))
  )

  it.effect("fail: publish fails with BackpressureError naming the lane", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const error = yield* withoutYields(
        Effect.gen(function* () {
          yield* b.publish(Task, { n: 0 })
          yield* b.publish(Task, { n: 1 })
          return yield* Effect.flip(b.publish(Task, { n: 2 }))
        })
      )
      yield* b.drain
      expect(error._tag).toBe("BackpressureError")
      expect(error).toMatchObject({ lane: "normal", capacity: 2, type: "tasks.done" })
      const stats = yield* b.stats
      expect(stats.lanes.normal).toMatchObject({ accepted: 2, dropped: 1 })
    }).pipe(withBus({ lanes: { normal: { capacity: 2, strategy: "fail" } } }))
  )
})
