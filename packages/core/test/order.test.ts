import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { bus, OrderPlaced, Task, withBus } from "./fixtures.ts"

describe("order and concurrency", () => {
  it.effect("a concurrency-1 subscription sees one lane's events in publish order, even with async handlers", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<number> = []
      yield* b.subscribe(Task, (e) => Effect.yieldNow.pipe(Effect.andThen(Effect.sync(() => seen.push(e.payload.n)))))
      for (let n = 0; n < 500; n++) yield* b.publish(Task, { n })
      yield* b.drain
      expect(seen).toEqual(Array.from({ length: 500 }, (_, n) => n))
    }).pipe(withBus())
  )

  it.effect("concurrency n runs n deliveries at once, and no more", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const gate = yield* Deferred.make<void>()
      let running = 0
      let peak = 0
      const started: Array<Deferred.Deferred<void>> = Array.from({ length: 3 }, () => Deferred.makeUnsafe<void>())
      yield* b.subscribe(
        OrderPlaced,
        (e) =>
          Effect.gen(function* () {
            running++
            peak = Math.max(peak, running)
            const i = e.payload.total
            if (i < 3) yield* Deferred.succeed(started[i]!, undefined)
            yield* Deferred.await(gate)
            running--
          }),
        { concurrency: 3 }
      )
      for (let i = 0; i < 6; i++) yield* b.publish(OrderPlaced, { orderId: `o${i}`, total: i })
      // All three must be running together: each waits on the gate that
      // opens only after every one of them has started.
      yield* Effect.forEach(started, (d) => Deferred.await(d))
      expect(running).toBe(3)
      expect((yield* b.stats).deliveries.inFlight).toBe(3)
      yield* Deferred.succeed(gate, undefined)
      yield* b.drain
      expect(peak).toBe(3)
      expect((yield* b.stats).deliveries.succeeded).toBe(6)
    }).pipe(withBus())
  )

  it.effect("the global limit holds across subscriptions under load", () =>
    Effect.gen(function* () {
      const b = yield* bus
      let running = 0
      let peak = 0
      const handler = () =>
        Effect.gen(function* () {
          running++
          peak = Math.max(peak, running)
          yield* Effect.yieldNow
          yield* Effect.yieldNow
          running--
        })
      for (let s = 0; s < 5; s++) yield* b.subscribe(Task, handler, { concurrency: 4, mailbox: 5000 })
      for (let n = 0; n < 1000; n++) yield* b.publish(Task, { n })
      yield* b.drain
      expect(peak).toBe(7)
      const stats = yield* b.stats
      expect(stats.deliveries.succeeded).toBe(5000)
    }).pipe(withBus({ maxConcurrentHandlers: 7 }))
  )

  it.effect("configure re-tunes the global limit at run time", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const gate = yield* Deferred.make<void>()
      let running = 0
      yield* b.subscribe(
        Task,
        () =>
          Effect.gen(function* () {
            running++
            yield* Deferred.await(gate)
            running--
          }),
        { concurrency: 10 }
      )
      for (let n = 0; n < 10; n++) yield* b.publish(Task, { n })
      yield* Effect.yieldNow
      yield* Effect.yieldNow
      expect(running).toBe(2)
      yield* b.configure({ maxConcurrentHandlers: 5 })
      expect(running).toBe(5)
      expect((yield* b.stats).maxConcurrentHandlers).toBe(5)
      const bad = yield* Effect.flip(b.configure({ maxConcurrentHandlers: 0 }))
      expect(bad._tag).toBe("InvalidOptions")
      expect(bad.message).toContain("maxConcurrentHandlers")
      yield* Deferred.succeed(gate, undefined)
      yield* b.drain
    }).pipe(withBus({ maxConcurrentHandlers: 2 }))
  )

  it.effect("a subscription's concurrency can be re-tuned while it runs", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const gate = yield* Deferred.make<void>()
      let running = 0
      const sub = yield* b.subscribe(Task, () =>
        Effect.gen(function* () {
          running++
          yield* Deferred.await(gate)
          running--
        })
      )
      for (let n = 0; n < 5; n++) yield* b.publish(Task, { n })
      yield* Effect.yieldNow
      expect(running).toBe(1)
      yield* sub.configure({ concurrency: 3 })
      expect(running).toBe(3)
      expect((yield* sub.stats).concurrency).toBe(3)
      const bad = yield* Effect.flip(sub.configure({ concurrency: -1 }))
      expect(bad.message).toContain(`at ["concurrency"]`)
      yield* Deferred.succeed(gate, undefined)
      yield* b.drain
      expect((yield* sub.stats).succeeded).toBe(5)
    }).pipe(withBus())
  )

  it.effect("a slow subscription's backlog does not hold up the others", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const gate = yield* Deferred.make<void>()
      let fast = 0
      yield* b.subscribe(Task, () => Deferred.await(gate), { name: "slow" })
      yield* b.subscribe(Task, () => Effect.sync(() => fast++), { name: "fast" })
      const waiting = yield* Effect.forkChild(
        Effect.forEach(
          Array.from({ length: 100 }, (_, n) => n),
          (n) => b.publish(Task, { n })
        )
      )
      yield* Fiber.join(waiting)
      yield* Effect.yieldNow
      yield* Effect.yieldNow
      expect(fast).toBe(100)
      const slow = (yield* b.stats).subscriptions.find((s) => s.name === "slow")!
      expect(slow.inFlight + slow.queued).toBe(100)
      yield* Deferred.succeed(gate, undefined)
      yield* b.drain
    }).pipe(withBus())
  )
})
