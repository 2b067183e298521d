import { describe, expect, it } from "@effect/vitest"
import { Event, EventBus } from "@eventfabric/core"
import { Deferred, Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Batching } from "../src/index.ts"

const Point = Batching.batchable(
  Event.define("telemetry.point", { payload: Schema.Struct({ i: Schema.Number }), priority: "low" })
)
const Placed = Event.define("orders.placed", { payload: Schema.Struct({ i: Schema.Number }) })

const Bus = EventBus.EventBus.layer()

const collect = (options?: Batching.Options) =>
  Effect.gen(function* () {
    const batches: Array<Array<number>> = []
    const sub = yield* Batching.subscribe(
      Point,
      (batch) => Effect.sync(() => batches.push(batch.map((e) => e.payload.i))),
      {
        name: "points",
        ...options
      }
    )
    return { batches, sub }
  })

const publishRange = (from: number, to: number) =>
  Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    for (let i = from; i < to; i++) yield* bus.publish(Point, { i })
    yield* bus.drain
    for (let i = 0; i < 5; i++) yield* Effect.yieldNow
  })

describe("Batching", () => {
  it.effect("flushes on size first, then the remainder on time", () =>
    Effect.gen(function* () {
      const { batches, sub } = yield* collect({ size: 100, within: "50 millis" })
      yield* publishRange(0, 250)
      expect(batches.map((b) => b.length)).toEqual([100, 100])
      yield* TestClock.adjust("49 millis")
      expect(batches.map((b) => b.length)).toEqual([100, 100])
      yield* TestClock.adjust("1 millis")
      expect(batches.map((b) => b.length)).toEqual([100, 100, 50])
      // In order, nothing lost, nothing twice.
      expect(batches.flat()).toEqual(Array.from({ length: 250 }, (_, i) => i))
      expect(yield* sub.stats).toEqual({ batches: 3, events: 250, failed: 0, buffered: 0 })
    }).pipe(Effect.provide(Bus))
  )

  it.effect("flushes a small batch when its time is up", () =>
    Effect.gen(function* () {
      const { batches } = yield* collect({ size: 100, within: "50 millis" })
      yield* publishRange(0, 3)
      yield* TestClock.adjust("40 millis")
      expect(batches).toEqual([])
      yield* TestClock.adjust("10 millis")
      expect(batches).toEqual([[0, 1, 2]])
      yield* publishRange(3, 4)
      yield* TestClock.adjust("50 millis")
      expect(batches).toEqual([[0, 1, 2], [3]])
    }).pipe(Effect.provide(Bus))
  )

  /** Seven events into a batch subscription that would wait an hour: only a flush delivers them. */
  const sevenWaiting = (batches: Array<number>) =>
    Effect.gen(function* () {
      yield* Batching.subscribe(Point, (batch) => Effect.sync(() => batches.push(batch.length)), {
        size: 100,
        within: "1 hour"
      })
      const bus = yield* EventBus.EventBus
      for (let i = 0; i < 7; i++) yield* bus.publish(Point, { i })
    })

  it.effect("flushes the partial batch when its scope closes (no clock advance)", () =>
    Effect.gen(function* () {
      const batches: Array<number> = []
      yield* Effect.scoped(sevenWaiting(batches))
      expect(batches).toEqual([7])
    }).pipe(Effect.provide(Bus))
  )

  it.effect("flushes when the bus shuts down before the subscription's scope closes", () =>
    Effect.gen(function* () {
      const batches: Array<number> = []
      yield* Effect.scoped(sevenWaiting(batches).pipe(Effect.provide(EventBus.EventBus.layer(), { local: true })))
      expect(batches).toEqual([7])
    })
  )

  it.effect("the buffer is bounded: a stuck handler backs up into the mailbox, which overflows (counted)", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const gate = yield* Deferred.make<void>()
      let handled = 0
      const sub = yield* Batching.subscribe(
        Point,
        (batch) =>
          Effect.andThen(
            Deferred.await(gate),
            Effect.sync(() => (handled += batch.length))
          ),
        {
          name: "stuck",
          size: 2,
          within: "1 hour",
          capacity: 4,
          mailbox: 4
        }
      )
      for (let i = 0; i < 50; i++) yield* bus.publish(Point, { i })
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow
      const stats = yield* bus.stats
      const subStats = stats.subscriptions.find((s) => s.name === "stuck")!
      expect((yield* sub.stats).buffered).toBeLessThanOrEqual(4)
      expect(subStats.queued).toBeLessThanOrEqual(4)
      expect(subStats.overflowed).toBeGreaterThan(0)
      yield* Deferred.succeed(gate, undefined)
      yield* bus.drain
      yield* TestClock.adjust("1 hour")
      // Everything not overflowed reached the handler.
      expect(handled).toBe(50 - subStats.overflowed)
    }).pipe(Effect.provide(Bus))
  )

  it.effect("a failing batch handler is counted and the next batches still run", () =>
    Effect.gen(function* () {
      let calls = 0
      const sub = yield* Batching.subscribe(
        Point,
        () => Effect.suspend(() => (++calls === 1 ? Effect.fail("db down") : Effect.void)),
        {
          size: 2
        }
      )
      yield* publishRange(0, 4)
      expect(yield* sub.stats).toMatchObject({ batches: 1, events: 2, failed: 1 })
    }).pipe(Effect.provide(Bus))
  )

  it.effect("refuses non-batchable definitions and bad options, naming the path", () =>
    Effect.gen(function* () {
      const notBatchable = yield* Effect.flip(Batching.subscribe(Placed, () => Effect.void))
      expect(notBatchable.message).toContain("not batchable")
      const bad = yield* Effect.flip(
        Batching.subscribe(Point, () => Effect.void, { size: 0, within: "later" as never })
      )
      expect(bad._tag).toBe("InvalidOptions")
      expect(bad.message).toContain(`["size"]`)
      expect(bad.message).toContain(`["within"]`)
    }).pipe(Effect.provide(Bus))
  )

  it("a definition is batchable by its annotation, or by the core's deprecated batchable field", () => {
    expect(Batching.isBatchable(Point)).toBe(true)
    expect(Batching.isBatchable(Placed)).toBe(false)
    const legacy = Event.define("telemetry.legacy", { payload: Schema.Number, priority: "low", batchable: true })
    expect(Batching.isBatchable(legacy)).toBe(true)
  })
})
