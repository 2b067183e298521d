import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Event, EventBus, Plugin } from "../src/index.ts"
import { Alarm, bus, Task, Tick, withBus } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

const start = <A, E>(self: Effect.Effect<A, E>) => Effect.forkChild(self, { startImmediately: true })

describe("backpressure (mailbox strategies)", () => {
  it.effect(
    "BLOCK: a publisher on a suspend lane waits while its only consumer is stuck, and resumes when it frees",
    () =>
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
          { name: "stuck", mailbox: 2 }
        )
        // 1 running + 2 in the mailbox + 1 held by the dispatcher + 2 in the lane = 6 accepted;
        // the publisher then waits.
        const publisher = yield* start(
          Effect.forEach(
            Array.from({ length: 50 }, (_, n) => n),
            (n) => b.publish(Task, { n })
          )
        )
        for (let i = 0; i < 5; i++) yield* Effect.yieldNow
        expect(publisher.pollUnsafe()).toBeUndefined()
        const blocked = yield* b.stats
        expect(blocked.published).toBe(7)
        expect(blocked.lanes.normal).toMatchObject({ accepted: 6, queued: 2, dropped: 0 })
        expect(blocked.subscriptions[0]).toMatchObject({ inFlight: 1, queued: 3, blocked: 1, overflowed: 0 })
        // nothing was refused while it waited: the 7th publish is the one waiting
        expect(blocked.deliveries).toMatchObject({ total: 4, overflowed: 0, failed: 0 })
        expect(blocked.dropped + blocked.refused).toBe(0)
        yield* Deferred.succeed(gate, undefined)
        const receipts = yield* Fiber.join(publisher)
        yield* b.drain
        expect(receipts.every((r) => r.status === "accepted")).toBe(true)
        expect(seen).toEqual(Array.from({ length: 50 }, (_, n) => n))
        const stats = yield* b.stats
        expect(stats.deliveries).toMatchObject({ total: 50, succeeded: 50, overflowed: 0 })
        expectBalanced(stats)
      }).pipe(withBus({ lanes: { normal: { capacity: 2, strategy: "suspend" } } }))
  )

  it.effect(
    "a suspending mailbox holds only its lane: CRITICAL still reaches the stuck subscriber and the others",
    () =>
      Effect.gen(function* () {
        const b = yield* bus
        const gate = yield* Deferred.make<void>()
        const critical: Array<string> = []
        // stuck on NORMAL work, with a mailbox of 1: it holds the NORMAL lane
        yield* b.subscribe(
          [Task, Alarm],
          (e) =>
            e.type === "tasks.done" ? Deferred.await(gate) : Effect.sync(() => critical.push(`stuck:${e.payload.n}`)),
          { name: "stuck", mailbox: 1 }
        )
        yield* b.subscribe(Alarm, (e) => Effect.sync(() => critical.push(`other:${e.payload.n}`)), { name: "other" })
        const tasks = yield* start(Effect.forEach([0, 1, 2, 3, 4, 5], (n) => b.publish(Task, { n })))
        for (let i = 0; i < 3; i++) yield* Effect.yieldNow
        expect(tasks.pollUnsafe()).toBeUndefined()
        for (let n = 0; n < 3; n++) yield* b.publish(Alarm, { n })
        for (let i = 0; i < 3; i++) yield* Effect.yieldNow
        expect(critical.sort()).toEqual(["other:0", "other:1", "other:2", "stuck:0", "stuck:1", "stuck:2"])
        expect(tasks.pollUnsafe()).toBeUndefined()
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(tasks)
        yield* b.drain
        expectBalanced(yield* b.stats)
      }).pipe(withBus({ lanes: { normal: { capacity: 1, strategy: "suspend" } } }))
  )

  it.effect("dropping: a full mailbox refuses the new delivery, counted overflowed, the publisher never waits", () =>
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
          name: "lossy",
          mailbox: { capacity: 2, strategy: "dropping" }
        }
      )
      for (let n = 0; n < 10; n++) yield* b.publish(Task, { n })
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow
      yield* Deferred.succeed(gate, undefined)
      yield* b.drain
      // 1 running, 2 queued; the 7 after them refused
      expect(seen).toEqual([0, 1, 2])
      const stats = yield* b.stats
      expect(stats.deliveries).toMatchObject({ total: 10, succeeded: 3, overflowed: 7 })
      // a chosen policy: counted, not reported
      expect(stats.system.published).toBe(0)
      expectBalanced(stats)
    }).pipe(withBus())
  )

  it.effect("sliding: a full mailbox refuses the oldest waiting delivery and keeps the newest", () =>
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
          name: "fresh",
          mailbox: { capacity: 2, strategy: "sliding" }
        }
      )
      for (let n = 0; n < 10; n++) yield* b.publish(Task, { n })
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow
      yield* Deferred.succeed(gate, undefined)
      yield* b.drain
      expect(seen).toEqual([0, 8, 9])
      expect((yield* b.stats).deliveries).toMatchObject({ total: 10, succeeded: 3, overflowed: 7 })
      expectBalanced(yield* b.stats)
    }).pipe(withBus())
  )

  it.effect("the default mailbox strategy follows the lane: a sliding LOW lane makes a sliding mailbox", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const gate = yield* Deferred.make<void>()
      yield* b.subscribe(Tick, () => Deferred.await(gate), { name: "ticks", mailbox: 1 })
      const receipts = yield* Effect.forEach([0, 1, 2, 3, 4], (n) => b.publish(Tick, { n }))
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow
      expect(receipts.every((r) => r.status === "accepted")).toBe(true)
      expect((yield* b.stats).subscriptions[0]).toMatchObject({ inFlight: 1, queued: 1, overflowed: 3, blocked: 0 })
      yield* Deferred.succeed(gate, undefined)
      yield* b.drain
      expectBalanced(yield* b.stats)
    }).pipe(withBus())
  )

  it.effect("a storm of failures is one report per subscription with the count and the first cause", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const reports: Array<typeof Event.HandlerFailed.payload.Type> = []
      yield* b.subscribe(Event.HandlerFailed, (e) => Effect.sync(() => reports.push(e.payload)), { name: "alerts" })
      yield* b.subscribe(Task, (e) => Effect.fail(`boom ${e.payload.n}`), { name: "fails" })
      for (let n = 0; n < 1000; n++) yield* b.publish(Task, { n })
      yield* b.drain
      expect(reports.map((r) => r.count).reduce((a, c) => a + c, 0)).toBe(1000)
      expect(reports.length).toBeLessThanOrEqual(2)
      expect(reports[0]).toMatchObject({ subscription: "fails", reason: "HandlerError" })
      expect(reports[0]?.cause).toContain("boom 0")
      const stats = yield* b.stats
      expect(stats.deliveries.failed).toBe(1000)
      expectBalanced(stats)
    }).pipe(withBus())
  )

  it.effect("a delivery that suspends past its timeout times out; one that completes at once never arms a timer", () =>
    Effect.gen(function* () {
      const b = yield* bus
      yield* b.subscribe(Task, (e) => (e.payload.n === 0 ? Effect.never : Effect.void), {
        name: "mixed",
        timeout: "1 second",
        concurrency: 2
      })
      const waiting = yield* start(b.publishAndWait(Task, { n: 0 }))
      for (let n = 1; n < 5; n++) yield* b.publishAndWait(Task, { n })
      expect(waiting.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(waiting)
      expect(result.deliveries[0]).toMatchObject({ status: "timedOut", error: { _tag: "HandlerTimeout" } })
      yield* b.drain
      expect((yield* b.stats).deliveries).toMatchObject({ succeeded: 4, timedOut: 1 })
    }).pipe(withBus())
  )

  it.effect("every refused delivery of a dropping mailbox reaches the dead-letter hook, counted once", () => {
    const stored: Array<number> = []
    const dlq = Plugin.make(
      "dlq",
      Effect.succeed(() =>
        Effect.succeed({
          undelivered: (delivery: { readonly envelope: { readonly payload: unknown } }) =>
            Effect.sync(() => {
              stored.push((delivery.envelope.payload as { n: number }).n)
              return `dl-${stored.length}`
            })
        })
      )
    )
    return Effect.gen(function* () {
      const b = yield* bus
      const gate = yield* Deferred.make<void>()
      yield* b.subscribe(Task, () => Deferred.await(gate), {
        name: "lossy",
        mailbox: { capacity: 1, strategy: "dropping" }
      })
      for (let n = 0; n < 6; n++) yield* b.publish(Task, { n })
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow
      yield* Deferred.succeed(gate, undefined)
      yield* b.drain
      expect(stored).toEqual([2, 3, 4, 5])
      const stats = yield* b.stats
      expect(stats.deliveries).toMatchObject({ total: 6, succeeded: 2, overflowed: 4, deadLettered: 4 })
      expectBalanced(stats)
    }).pipe(Effect.provide(EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(dlq)))))
  })

  it.effect("a redelivery into a full suspend mailbox waits for room, then is delivered", () =>
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
          name: "full",
          mailbox: 1
        }
      )
      yield* b.publish(Task, { n: 0 })
      yield* b.publish(Task, { n: 1 })
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow
      const envelope = {
        id: "r-1",
        type: "tasks.done",
        payload: { n: 2 },
        priority: "normal" as const,
        publishedAt: 0,
        attempt: 2,
        source: undefined,
        correlationId: undefined,
        causationId: undefined,
        traceparent: undefined,
        headers: undefined
      }
      const retry = yield* start(b.redeliver("full", envelope))
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow
      expect(retry.pollUnsafe()).toBeUndefined()
      yield* Deferred.succeed(gate, undefined)
      const outcome = yield* Fiber.join(retry)
      yield* b.drain
      expect(outcome.status).toBe("succeeded")
      expect(seen).toEqual([0, 1, 2])
      expectBalanced(yield* b.stats)
    }).pipe(withBus())
  )
})
