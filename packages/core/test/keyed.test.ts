import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { EventBus } from "../src/index.ts"
import { bus, OrderPlaced, withBus } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

describe("keyed order (orderBy)", () => {
  it("events with one key are handled in publish order, whatever the keys and handler delays", () =>
    fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom("a", "b", "c", "d", "e"), delay: fc.integer({ min: 0, max: 20 }) }), {
          maxLength: 60
        }),
        fc.integer({ min: 1, max: 6 }),
        (events, concurrency) =>
          Effect.gen(function* () {
            const b = yield* EventBus.EventBus
            const seen = new Map<string, Array<number>>()
            let running = 0
            let peak = 0
            yield* b.subscribe(
              OrderPlaced,
              (e) =>
                Effect.gen(function* () {
                  running++
                  peak = Math.max(peak, running)
                  const delay = events[e.payload.total]!.delay
                  if (delay > 0) yield* Effect.sleep(delay)
                  running--
                  const list = seen.get(e.payload.orderId) ?? []
                  list.push(e.payload.total)
                  seen.set(e.payload.orderId, list)
                }),
              { concurrency, orderBy: (e) => e.payload.orderId }
            )
            for (let i = 0; i < events.length; i++) yield* b.publish(OrderPlaced, { orderId: events[i]!.key, total: i })
            // let time pass in steps until everything ran
            for (let t = 0; t < 2000 && (yield* b.stats).deliveries.succeeded < events.length; t++) {
              yield* TestClock.adjust(1)
            }
            yield* b.drain
            for (const [key, order] of seen) {
              const expected = events.flatMap((e, i) => (e.key === key ? [i] : []))
              expect(order).toEqual(expected)
            }
            expect(peak).toBeLessThanOrEqual(concurrency)
            expectBalanced(yield* b.stats)
          }).pipe(Effect.scoped, withBus(), Effect.provide(TestClock.layer()), Effect.runPromise)
      ),
      { numRuns: 60 }
    ))

  it.effect("different keys run in parallel, one key waits for its previous event", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const gates = new Map([
        ["a", yield* Deferred.make<void>()],
        ["b", yield* Deferred.make<void>()]
      ])
      const started: Array<string> = []
      yield* b.subscribe(
        OrderPlaced,
        (e) =>
          Effect.andThen(
            Effect.sync(() => started.push(`${e.payload.orderId}${e.payload.total}`)),
            Deferred.await(gates.get(e.payload.orderId)!)
          ),
        { concurrency: 4, orderBy: (e) => e.payload.orderId }
      )
      yield* b.publish(OrderPlaced, { orderId: "a", total: 1 })
      yield* b.publish(OrderPlaced, { orderId: "a", total: 2 })
      yield* b.publish(OrderPlaced, { orderId: "b", total: 1 })
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow
      expect(started).toEqual(["a1", "b1"])
      expect((yield* b.stats).deliveries).toMatchObject({ inFlight: 2, queued: 1 })
      yield* Deferred.succeed(gates.get("a")!, undefined)
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow
      expect(started).toEqual(["a1", "b1", "a2"])
      yield* Deferred.succeed(gates.get("b")!, undefined)
      yield* b.drain
      expectBalanced(yield* b.stats)
    }).pipe(withBus())
  )

  it.effect("an orderBy that throws fails that delivery with a typed HandlerError, never a defect", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<string> = []
      yield* b.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId)), {
        name: "keyed",
        concurrency: 2,
        orderBy: (e) => {
          if (e.payload.orderId === "bad") throw new Error("no key")
          return e.payload.orderId
        }
      })
      const bad = yield* b.publishAndWait(OrderPlaced, { orderId: "bad", total: 1 })
      const good = yield* b.publishAndWait(OrderPlaced, { orderId: "good", total: 1 })
      expect(bad.deliveries[0]).toMatchObject({ status: "failed", error: { _tag: "HandlerError" } })
      expect(bad.deliveries[0]?.error?.message).toContain("no key")
      expect(good.deliveries[0]?.status).toBe("succeeded")
      expect(seen).toEqual(["good"])
      yield* b.drain
      const stats = yield* b.stats
      expect(stats.deliveries).toMatchObject({ failed: 1, succeeded: 1 })
      expectBalanced(stats)
    }).pipe(withBus())
  )
})
