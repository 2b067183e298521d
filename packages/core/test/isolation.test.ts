import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { Event } from "../src/index.ts"
import { bus, Task, withBus } from "./fixtures.ts"

const failures = Effect.gen(function* () {
  const b = yield* bus
  const reported: Array<typeof Event.HandlerFailed.payload.Type> = []
  yield* b.subscribe(Event.HandlerFailed, (e) => Effect.sync(() => reported.push(e.payload)), { name: "alerts" })
  return reported
})

describe("isolation", () => {
  it.effect("a failing, a dying and a throwing handler harm no other subscription", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const reported = yield* failures
      let fast = 0
      yield* b.subscribe(Task, () => Effect.fail("boom"), { name: "fails" })
      yield* b.subscribe(Task, () => Effect.die(new Error("defect")), { name: "dies" })
      yield* b.subscribe(
        Task,
        () =>
          Effect.sync(() => {
            throw new Error("thrown")
          }),
        { name: "throws" }
      )
      yield* b.subscribe(Task, () => Effect.sync(() => fast++), { name: "fast" })
      for (let n = 0; n < 10; n++) yield* b.publish(Task, { n })
      yield* b.drain
      expect(fast).toBe(10)
      const stats = yield* b.stats
      const by = Object.fromEntries(stats.subscriptions.map((s) => [s.name, s]))
      expect(by.fast).toMatchObject({ succeeded: 10, failed: 0 })
      for (const name of ["fails", "dies", "throws"]) expect(by[name]).toMatchObject({ succeeded: 0, failed: 10 })
      // A storm is coalesced: one report per subscription, carrying the count and the first cause.
      expect(reported).toHaveLength(3)
      expect(reported.map((r) => [r.subscription, r.count]).sort()).toEqual([
        ["dies", 10],
        ["fails", 10],
        ["throws", 10]
      ])
      expect(reported.filter((r) => r.subscription === "dies")[0]?.cause).toContain("defect")
      expect(reported.every((r) => r.reason === "HandlerError" && r.eventType === "tasks.done")).toBe(true)
      expect(by.alerts).toMatchObject({ succeeded: 3 })
    }).pipe(withBus())
  )

  it.effect("a hanging handler times out, is interrupted, counted and reported", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const reported = yield* failures
      let fast = 0
      yield* b.subscribe(Task, () => Effect.never, { name: "hangs", timeout: "1 second" })
      yield* b.subscribe(Task, () => Effect.sync(() => fast++), { name: "fast" })
      const waiting = yield* Effect.forkChild(b.publishAndWait(Task, { n: 1 }), { startImmediately: true })
      yield* Effect.yieldNow
      expect(fast).toBe(1)
      expect(waiting.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("999 millis")
      expect(waiting.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(waiting)
      yield* b.drain
      expect(result.deliveries.find((d) => d.subscription === "hangs")).toMatchObject({
        status: "timedOut",
        error: { _tag: "HandlerTimeout" }
      })
      expect(reported).toMatchObject([{ subscription: "hangs", reason: "HandlerTimeout" }])
      expect((yield* b.stats).deliveries).toMatchObject({ timedOut: 1, succeeded: 2, inFlight: 0 })
    }).pipe(withBus())
  )

  it.effect("a slow handler delays only its own mailbox", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const fastSeen: Array<number> = []
      let slowDone = 0
      yield* b.subscribe(Task, () => Effect.sleep("5 millis").pipe(Effect.andThen(Effect.sync(() => slowDone++))), {
        name: "slow"
      })
      yield* b.subscribe(Task, (e) => Effect.sync(() => fastSeen.push(e.payload.n)), { name: "fast" })
      for (let n = 0; n < 20; n++) yield* b.publish(Task, { n })
      yield* Effect.yieldNow
      // No time has passed: the fast subscription has everything already.
      expect(fastSeen).toHaveLength(20)
      expect(slowDone).toBe(0)
      yield* TestClock.adjust("100 millis")
      yield* b.drain
      expect(slowDone).toBe(20)
    }).pipe(withBus())
  )

  it.effect("a full fail mailbox overflows that subscription only, counted and reported", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const reported = yield* failures
      let fast = 0
      yield* b.subscribe(Task, () => Effect.sleep("1 second"), {
        name: "tiny",
        mailbox: { capacity: 2, strategy: "fail" }
      })
      yield* b.subscribe(Task, () => Effect.sync(() => fast++), { name: "fast" })
      for (let n = 0; n < 10; n++) yield* b.publish(Task, { n })
      yield* Effect.yieldNow
      const tiny = (yield* b.stats).subscriptions.find((s) => s.name === "tiny")!
      // one running, two queued, seven overflowed
      expect(tiny).toMatchObject({ inFlight: 1, queued: 2, overflowed: 7 })
      expect(fast).toBe(10)
      yield* TestClock.adjust("10 seconds")
      yield* b.drain
      const overflows = reported.filter((r) => r.reason === "Overflow")
      expect(overflows).toHaveLength(1)
      expect(overflows[0]?.count).toBe(7)
    }).pipe(withBus())
  )

  it.effect("failures of system events are counted but not re-published", () =>
    Effect.gen(function* () {
      const b = yield* bus
      yield* b.subscribe(Event.HandlerFailed, () => Effect.fail("alerting down"), { name: "alerts" })
      yield* b.subscribe(Task, () => Effect.fail("boom"), { name: "fails" })
      yield* b.publish(Task, { n: 1 })
      yield* b.drain
      const stats = yield* b.stats
      // the task, and one system.handler_error counted apart
      expect(stats.published).toBe(1)
      expect(stats.system.published).toBe(1)
      expect(stats.deliveries.failed).toBe(2)
    }).pipe(withBus())
  )
})
