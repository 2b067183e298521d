import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import type { Stats } from "../src/index.ts"
import { bus, Task, withBus } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

const expectScheduleBalanced = (s: Stats.Stats) =>
  expect(s.scheduled.total).toBe(s.scheduled.released + s.scheduled.cancelled + s.scheduled.pending)

describe("delayed publish", () => {
  it.effect("an event published with a delay is held until the clock reaches it, then delivered", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<number> = []
      yield* b.subscribe(Task, (e) => Effect.sync(() => seen.push(e.payload.n)), { name: "seen" })
      const receipt = yield* b.publish(Task, { n: 1 }, { delay: "5 seconds" })
      expect(receipt.status).toBe("scheduled")
      yield* TestClock.adjust("4999 millis")
      yield* b.drain
      expect(seen).toEqual([])
      let s = yield* b.stats
      expect(s.published).toBe(0)
      expect(s.scheduled).toMatchObject({ pending: 1, total: 1, released: 0 })
      yield* TestClock.adjust("1 millis")
      yield* b.drain
      expect(seen).toEqual([1])
      s = yield* b.stats
      expect(s.published).toBe(1)
      expect(s.scheduled).toMatchObject({ pending: 0, total: 1, released: 1 })
      expectBalanced(s)
      expectScheduleBalanced(s)
    }).pipe(withBus())
  )

  it.effect("the released envelope keeps the id the receipt named", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const ids: Array<string> = []
      yield* b.subscribe(Task, (e) => Effect.sync(() => ids.push(e.id)))
      const receipt = yield* b.publish(Task, { n: 1 }, { delay: 10 })
      yield* TestClock.adjust(10)
      yield* b.drain
      expect(ids).toEqual([receipt.id])
    }).pipe(withBus())
  )

  it.effect(
    "publishAll with a delay holds the whole batch, each event with an id of its own, then delivers it in order",
    () =>
      Effect.gen(function* () {
        const b = yield* bus
        const seen: Array<string> = []
        yield* b.subscribe(Task, (e) => Effect.sync(() => seen.push(`${e.payload.n}:${e.id}`)))
        const receipts = yield* b.publishAll(Task, [{ n: 1 }, { n: 2 }, { n: 3 }], { delay: "1 second", id: "shared" })
        expect(receipts.map((r) => r.status)).toEqual(["scheduled", "scheduled", "scheduled"])
        expect(new Set(receipts.map((r) => r.id)).size).toBe(3)
        yield* TestClock.adjust("999 millis")
        yield* b.drain
        expect(seen).toEqual([])
        yield* TestClock.adjust("1 millis")
        yield* b.drain
        expect(seen).toEqual(receipts.map((r, i) => `${i + 1}:${r.id}`))
        const s = yield* b.stats
        expect(s.published).toBe(3)
        expectBalanced(s)
        expectScheduleBalanced(s)
      }).pipe(withBus())
  )

  it.effect("`at` holds an event until that time; events come out in due order, not publish order", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<number> = []
      yield* b.subscribe(Task, (e) => Effect.sync(() => seen.push(e.payload.n)))
      yield* b.publish(Task, { n: 3 }, { at: new Date(3_000) })
      yield* b.publish(Task, { n: 1 }, { at: 1_000 })
      yield* b.publish(Task, { n: 2 }, { delay: "2 seconds" })
      yield* b.publish(Task, { n: 0 }, { at: new Date(-5) }) // in the past: released at once
      yield* TestClock.adjust(0)
      yield* b.drain
      expect(seen).toEqual([0])
      for (const ms of [1_000, 1_000, 1_000]) {
        yield* TestClock.adjust(ms)
        yield* b.drain
      }
      expect(seen).toEqual([0, 1, 2, 3])
    }).pipe(withBus())
  )

  it.effect("publishAndWait with a delay answers once the released event's deliveries ended", () =>
    Effect.gen(function* () {
      const b = yield* bus
      yield* b.subscribe(Task, () => Effect.void, { name: "ok" })
      const waiting = yield* Effect.forkChild(b.publishAndWait(Task, { n: 1 }, { delay: "1 minute" }), {
        startImmediately: true
      })
      yield* TestClock.adjust("59 seconds")
      expect(waiting.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(waiting)
      expect(result).toMatchObject({ status: "delivered", succeeded: 1 })
    }).pipe(withBus())
  )

  it.effect("the schedule is bounded: past its capacity a delayed publish fails ScheduleFullError, counted", () =>
    Effect.gen(function* () {
      const b = yield* bus
      yield* b.publish(Task, { n: 1 }, { delay: "1 second" })
      yield* b.publish(Task, { n: 2 }, { delay: "1 second" })
      const error = yield* Effect.flip(b.publish(Task, { n: 3 }, { delay: "1 second" }))
      expect(error._tag).toBe("ScheduleFullError")
      const s = yield* b.stats
      expect(s.scheduled).toMatchObject({ capacity: 2, pending: 2, overflowed: 1 })
      // an immediate publish is not held, so it is not refused
      expect((yield* b.publish(Task, { n: 4 })).status).toBe("accepted")
    }).pipe(withBus({ schedule: { capacity: 2 } }))
  )

  it.effect("a delay that is not a duration fails InvalidEvent, holds nothing and is counted rejected", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const error = yield* Effect.flip(b.publish(Task, { n: 1 }, { delay: "soon" as never }))
      expect(error._tag).toBe("InvalidEvent")
      const bad = yield* Effect.flip(b.publish(Task, { n: 1 }, { at: new Date(Number.NaN) }))
      expect(bad._tag).toBe("InvalidEvent")
      const s = yield* b.stats
      expect(s.scheduled.total).toBe(0)
      // refused like any junk publish: counted published and rejected, so the bus's sums hold
      expect(s.rejected).toBe(2)
      expect(s.published).toBe(2)
    }).pipe(withBus())
  )

  it.effect("at shutdown, held events are cancelled and counted; a publishAndWait on one fails BusClosedError", () =>
    Effect.gen(function* () {
      let waiting: Fiber.Fiber<unknown, { readonly _tag: string }> | undefined
      const b = yield* Effect.gen(function* () {
        const b = yield* bus
        yield* b.subscribe(Task, () => Effect.void)
        yield* b.publish(Task, { n: 1 }, { delay: "1 hour" })
        yield* b.publish(Task, { n: 2 }, { delay: "1 second" })
        waiting = yield* Effect.forkDetach(b.publishAndWait(Task, { n: 3 }, { delay: "1 hour" }), {
          startImmediately: true
        })
        yield* TestClock.adjust("1 second")
        yield* b.drain
        return b
      }).pipe(withBus())
      const s = yield* b.stats
      expect(s.scheduled).toMatchObject({ total: 3, released: 1, cancelled: 2, pending: 0 })
      expect(s.deliveries.succeeded).toBe(1)
      const exit = yield* Fiber.await(waiting!)
      expect(exit._tag).toBe("Failure")
      expect(JSON.stringify(exit)).toContain("BusClosedError")
      expectScheduleBalanced(s)
      const refused = yield* Effect.flip(b.publish(Task, { n: 4 }, { delay: 1 }))
      expect(refused._tag).toBe("BusClosedError")
    })
  )
})
