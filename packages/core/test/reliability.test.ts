/**
 * Regression tests for issue 11: each `it` reproduces one way the bus lost
 * events, hung or crashed, and fails on the code before its fix.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Schema, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Delivery, Errors, Event, EventBus, Facade } from "../src/index.ts"
import { bus, Task, Tick, withBus } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

/** Forks `self`, lets it start, and answers the fiber. */
const start = <A, E>(self: Effect.Effect<A, E>) => Effect.forkChild(self, { startImmediately: true })

describe("reliability (issue 11)", () => {
  it.effect("1. a sliding lane under concurrent publishAndWait loses no accepted event and answers every waiter", () =>
    Effect.gen(function* () {
      for (let run = 0; run < 20; run++) {
        const stats = yield* Effect.gen(function* () {
          const b = yield* bus
          yield* b.subscribe(Tick, () => Effect.void, { name: "ticks" })
          // Each publisher publishes again as soon as its last event ended,
          // evicted ones included: the evicted waiter resumes at once.
          const results = yield* Effect.forEach(
            [0, 1, 2, 3],
            (p) =>
              Effect.forEach([0, 1, 2, 3, 4], (n) =>
                Effect.map(b.publishAndWait(Tick, { n: p * 10 + n }), (r) => r.status)
              ),
            { concurrency: 4 }
          )
          expect(results.flat()).toHaveLength(20)
          for (const status of results.flat()) expect(["delivered", "evicted"]).toContain(status)
          yield* b.drain
          return yield* b.stats
        }).pipe(Effect.scoped, withBus({ lanes: { low: { capacity: 1, strategy: "sliding" } } }))
        expectBalanced(stats)
        expect(stats.lanes.low.accepted).toBe(20)
        expect(stats.lanes.low.dispatched + stats.lanes.low.evicted).toBe(20)
      }
    })
  )

  it.effect(
    "2. a handler failing with null, or with an error whose _tag getter throws, is counted failed and drain returns",
    () =>
      Effect.gen(function* () {
        const hostile = Object.defineProperty({}, "_tag", {
          get() {
            throw new Error("no tag for you")
          }
        })
        const b = yield* bus
        yield* b.subscribe(Task, () => Effect.fail(null), { name: "null" })
        yield* b.subscribe(Task, () => Effect.fail(hostile), { name: "hostile" })
        yield* b.subscribe(Task, () => Effect.die(null), { name: "dies-null" })
        const result = yield* b.publishAndWait(Task, { n: 1 })
        expect(result.deliveries.map((d) => d.status)).toEqual(["failed", "failed", "failed"])
        for (let n = 0; n < 10; n++) yield* b.publish(Task, { n })
        yield* b.drain
        const stats = yield* b.stats
        for (const name of ["null", "hostile", "dies-null"]) {
          expect(stats.subscriptions.find((s) => s.name === name)).toMatchObject({ total: 11, failed: 11, inFlight: 0 })
        }
        expectBalanced(stats)
      }).pipe(withBus())
  )

  it.effect("3. closing a bus with 10 slow subscriptions takes one shutdownGrace, not one per subscription", () =>
    Effect.gen(function* () {
      const closed = yield* Deferred.make<EventBus.EventBus["Service"]>()
      const run = yield* start(
        Effect.gen(function* () {
          const b = yield* bus
          for (let i = 0; i < 10; i++) {
            yield* b.subscribe(Task, () => Effect.never, { name: `slow-${i}`, timeout: "1 hour" })
          }
          yield* b.publish(Task, { n: 1 })
          yield* Effect.yieldNow
          yield* Deferred.succeed(closed, b)
        }).pipe(Effect.scoped, withBus({ shutdownGrace: "1 second" }))
      )
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 millis")
      // the subscriptions' scope and the bus's scope, both within one grace
      expect(run.pollUnsafe()).toBeDefined()
      const b = yield* Deferred.await(closed)
      const stats = yield* b.stats
      expect(stats.deliveries).toMatchObject({ total: 10, interrupted: 10, inFlight: 0 })
      expectBalanced(stats)
    })
  )

  it.effect(
    "3. a handler that cannot be interrupted is abandoned after the grace, counted and reported, not awaited",
    () =>
      Effect.gen(function* () {
        let waiter: Fiber.Fiber<EventBus.PublishResult, Errors.PublishError> | undefined
        const run = yield* start(
          Effect.gen(function* () {
            const b = yield* bus
            yield* b.subscribe(Task, () => Effect.uninterruptible(Effect.never), { name: "stuck", timeout: "1 hour" })
            waiter = yield* start(b.publishAndWait(Task, { n: 1 }))
            yield* Effect.yieldNow
            return b
          }).pipe(Effect.scoped, withBus({ shutdownGrace: "1 second" }))
        )
        yield* Effect.yieldNow
        yield* TestClock.adjust("1001 millis")
        const b = yield* Fiber.join(run)
        const result = yield* Fiber.join(waiter!)
        expect(result.deliveries.map((d) => d.status)).toEqual(["interrupted"])
        const stats = yield* b.stats
        expect(stats.deliveries).toMatchObject({ total: 1, interrupted: 1, abandoned: 1, inFlight: 0 })
        expectBalanced(stats)
      })
  )

  it("4. a Facade handler whose Promise rejects fails its delivery and leaves no unhandled rejection", async () => {
    const unhandled: Array<unknown> = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on("unhandledRejection", onUnhandled)
    try {
      const facade = await Facade.make(EventBus.EventBus.layer())
      facade.on(
        Task,
        async () => {
          throw new Error("rejected on purpose")
        },
        { name: "rejects" }
      )
      facade.once(Task, () => Promise.reject(new Error("once, rejected")), { name: "once-rejects" })
      // rejections with values that are not errors at all
      facade.on(Task, () => Promise.reject(null), { name: "rejects-null" })
      facade.on(Task, () => Promise.reject(undefined), { name: "rejects-undefined" })
      const result = await facade.emitAndWait(Task, { n: 1 })
      expect(result.deliveries.map((d) => d.status)).toEqual(["failed", "failed", "failed", "failed"])
      for (let n = 0; n < 5; n++) facade.emit(Task, { n })
      await facade.drain()
      await facade.close()
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(unhandled).toEqual([])
      expect(facade.stats().deliveries.failed).toBe(1 + 3 * 6)
    } finally {
      process.off("unhandledRejection", onUnhandled)
    }
  })

  it.effect("5. a publisher interrupted while suspended on a full lane leaves no count open", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const gate = yield* Deferred.make<void>()
      yield* b.subscribe(Task, () => Deferred.await(gate), { name: "gated", mailbox: 1 })
      // all but the first wait for room: the dispatcher has not run yet
      const publishers = yield* Effect.forEach([0, 1, 2, 3, 4, 5], (n) => start(b.publish(Task, { n })))
      for (const f of publishers.slice(3)) yield* Fiber.interrupt(f)
      yield* Deferred.succeed(gate, undefined)
      for (const f of publishers.slice(0, 3)) yield* Fiber.await(f)
      yield* b.drain
      const stats = yield* b.stats
      expect(stats.cancelled).toBeGreaterThan(0)
      expectBalanced(stats)
    }).pipe(withBus({ lanes: { normal: { capacity: 1, strategy: "suspend" } } }))
  )

  it.effect(
    "6. junk input to publish and subscribe fails typed, naming what was wrong, and keeps the counts balanced",
    () =>
      Effect.gen(function* () {
        const b = yield* bus
        const badPriority = { ...Task, priority: "bogus" } as unknown as typeof Task
        const e1 = yield* Effect.flip(b.publish(badPriority, { n: 1 }))
        expect(e1).toBeInstanceOf(Errors.InvalidEvent)
        expect(e1.message).toContain("priority")
        const e2 = yield* Effect.flip(b.publish(Task, { n: 1 }, { priority: "bogus" as never }))
        expect(e2).toBeInstanceOf(Errors.InvalidEvent)
        expect(e2.message).toContain("priority")
        const e3 = yield* Effect.flip(b.publish(null as never, {} as never))
        expect(e3).toBeInstanceOf(Errors.InvalidEvent)
        expect(e3.message).toContain("definition")
        const e4 = yield* Effect.flip(b.publishAndWait(undefined as never, {} as never))
        expect(e4).toBeInstanceOf(Errors.InvalidEvent)
        const e5 = yield* Effect.flip(b.subscribe(null as unknown as typeof Task, () => Effect.void))
        expect(e5).toBeInstanceOf(Errors.InvalidOptions)
        expect(e5.message).toContain("selector")
        const e6 = yield* Effect.flip(b.subscribe(Task, null as unknown as () => Effect.Effect<void>))
        expect(e6.message).toContain("handler")
        const e7 = yield* Effect.flip(b.subscribe(Task, () => Effect.void, { mailbox: 2 ** 32 }))
        expect(e7).toBeInstanceOf(Errors.InvalidOptions)
        expect(e7.message).toContain("mailbox")
        const e8 = yield* Effect.flip(Stream.runDrain(b.events(Task, { capacity: 2 ** 32 })))
        expect(e8).toBeInstanceOf(Errors.InvalidOptions)
        expect(e8.message).toContain("capacity")
        const stats = yield* b.stats
        expect(stats.rejected).toBe(4)
        expectBalanced(stats)
        expect(() => Event.define("tasks.bogus", { payload: Schema.Number, priority: "urgent" as never })).toThrow(
          /priority/
        )
      }).pipe(withBus())
  )

  it.effect(
    '7. a handler failing with a forged { _tag: "CircuitOpen" } is counted failed and reported, not rejected',
    () =>
      Effect.gen(function* () {
        const b = yield* bus
        const reports: Array<string> = []
        yield* b.subscribe(Event.HandlerFailed, (e) => Effect.sync(() => reports.push(e.payload.reason)), {
          name: "reports"
        })
        yield* b.subscribe(Task, () => Effect.fail({ _tag: "CircuitOpen", subscription: "forged" }), { name: "forger" })
        yield* b.subscribe(Task, () => Effect.fail(new Delivery.CircuitOpen({ subscription: "forger2" })), {
          name: "forger2"
        })
        const result = yield* b.publishAndWait(Task, { n: 1 })
        expect(result.deliveries.map((d) => d.status)).toEqual(["failed", "failed"])
        expect(result.deliveries.map((d) => d.error?._tag)).toEqual(["HandlerError", "HandlerError"])
        yield* b.drain
        expect(reports).toEqual(["HandlerError", "HandlerError"])
        const stats = yield* b.stats
        expect(stats.deliveries.rejected).toBe(0)
        expectBalanced(stats)
      }).pipe(withBus())
  )

  it.effect(
    "8. a handler that closes its own subscription's scope neither stalls publishAndWait nor loses the delivery",
    () =>
      Effect.gen(function* () {
        const b = yield* bus
        const scope = yield* Scope.make()
        yield* b
          .subscribe(Task, (e) => (e.payload.n === 2 ? Scope.close(scope, Exit.void) : Effect.void), { name: "self" })
          .pipe(Scope.provide(scope))
        yield* b.publishAndWait(Task, { n: 1 })
        const waiter = yield* start(b.publishAndWait(Task, { n: 2 }))
        yield* Effect.yieldNow
        yield* Effect.yieldNow
        const exit = waiter.pollUnsafe()
        expect(exit && Exit.isSuccess(exit) ? exit.value.deliveries.map((d) => d.status) : exit).toEqual(["succeeded"])
        const third = yield* b.publishAndWait(Task, { n: 3 })
        expect(third.deliveries).toEqual([])
        const stats = yield* b.stats
        expect(stats.deliveries).toMatchObject({ total: 2, succeeded: 2 })
        expectBalanced(stats)
      }).pipe(withBus({ shutdownGrace: "3 seconds" }))
  )

  it("8. a Facade handler that unsubscribes itself does not stall emitAndWait, and its delivery is counted", async () => {
    const facade = await Facade.make(EventBus.EventBus.layer({ shutdownGrace: "3 seconds" }))
    try {
      let off: (() => Promise<void>) | undefined
      const offed: Array<Promise<void>> = []
      off = facade.on(
        Task,
        async () => {
          await Promise.resolve()
          await off!()
        },
        { name: "self-off" }
      )
      const began = Date.now()
      const result = await facade.emitAndWait(Task, { n: 1 })
      await Promise.all(offed)
      // wall time only as a hang detector: the stall was the whole 3 s grace
      expect(Date.now() - began).toBeLessThan(1_000)
      expect(result.deliveries.map((d) => d.status)).toEqual(["succeeded"])
      await facade.drain()
      const stats = facade.stats()
      expect(stats.deliveries).toMatchObject({ total: 1, succeeded: 1 })
      expectBalanced(stats)
    } finally {
      await facade.close()
    }
  })

  it.effect("stats.published counts user events only; system events are counted apart, with a failure rate", () =>
    Effect.gen(function* () {
      const b = yield* bus
      yield* b.subscribe(Task, (e) => (e.payload.n % 2 === 0 ? Effect.fail("even") : Effect.void), { name: "half" })
      for (let n = 0; n < 10; n++) yield* b.publish(Task, { n })
      yield* b.drain
      const stats = yield* b.stats
      expect(stats.published).toBe(10)
      // The 5 failures of one burst are coalesced into one report (issue 10 item 4).
      expect(stats.system.published).toBe(1)
      expect(stats.failureRate).toBe(0.5)
      expectBalanced(stats)
    }).pipe(withBus())
  )
})
