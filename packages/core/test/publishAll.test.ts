import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { bus, Task, Tick, withBus } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

describe("publishAll", () => {
  it.effect("publishes a batch in order, one receipt each, all stamped with one clock read", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<{ n: number; at: number; id: string }> = []
      yield* b.subscribe(Task, (e) => Effect.sync(() => seen.push({ n: e.payload.n, at: e.publishedAt, id: e.id })))
      yield* TestClock.adjust(42)
      const receipts = yield* b.publishAll(
        Task,
        Array.from({ length: 100 }, (_, n) => ({ n })),
        { source: "batch" }
      )
      yield* b.drain
      expect(receipts.map((r) => r.status)).toEqual(Array(100).fill("accepted"))
      expect(seen.map((s) => s.n)).toEqual(Array.from({ length: 100 }, (_, n) => n))
      expect(new Set(seen.map((s) => s.at))).toEqual(new Set([42]))
      expect(new Set(seen.map((s) => s.id)).size).toBe(100)
      const stats = yield* b.stats
      expect(stats).toMatchObject({ published: 100, accepted: 100 })
      expectBalanced(stats)
    }).pipe(withBus())
  )

  it.effect("on a full suspend lane it waits for room and loses nothing", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const gate = yield* Deferred.make<void>()
      const seen: Array<number> = []
      yield* b.subscribe(
        Task,
        (e) =>
          Effect.andThen(
            Deferred.await(gate),
            Effect.sync(() => seen.push(e.payload.n))
          ),
        {
          mailbox: 2
        }
      )
      const batch = yield* Effect.forkChild(
        b.publishAll(
          Task,
          Array.from({ length: 20 }, (_, n) => ({ n }))
        ),
        { startImmediately: true }
      )
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow
      expect(batch.pollUnsafe()).toBeUndefined()
      yield* Deferred.succeed(gate, undefined)
      const receipts = yield* Fiber.join(batch)
      yield* b.drain
      expect(receipts).toHaveLength(20)
      expect(seen).toEqual(Array.from({ length: 20 }, (_, n) => n))
      expectBalanced(yield* b.stats)
    }).pipe(withBus({ lanes: { normal: { capacity: 2, strategy: "suspend" } } }))
  )

  it.effect("on a dropping lane the overflow gets dropped receipts, counted", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const receipts = yield* b.publishAll(Tick, [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }])
      yield* b.drain
      expect(receipts.map((r) => r.status)).toEqual(["accepted", "accepted", "dropped", "dropped"])
      expectBalanced(yield* b.stats)
    }).pipe(withBus({ lanes: { low: { capacity: 2, strategy: "dropping" } } }))
  )

  it.effect("junk payloads fail typed and are counted rejected", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const error = yield* Effect.flip(b.publishAll(Task, null as never))
      expect(error._tag).toBe("InvalidEvent")
      expect(error.message).toContain("payloads")
      const stats = yield* b.stats
      expect(stats.rejected).toBe(1)
      expectBalanced(stats)
    }).pipe(withBus())
  )
})
