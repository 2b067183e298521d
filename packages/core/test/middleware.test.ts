import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Delivery, Errors, EventBus, Plugin } from "../src/index.ts"
import { bus, OrderPlaced, Task } from "./fixtures.ts"

const tracing = (name: string, log: Array<string>) =>
  Plugin.make(
    name,
    Effect.succeed(() =>
      Effect.succeed({
        publish: (next) => (envelope, definition) =>
          Effect.sync(() => log.push(`${name}:publish>`)).pipe(
            Effect.andThen(next(envelope, definition)),
            Effect.tap(() => Effect.sync(() => log.push(`${name}:publish<`)))
          ),
        delivery: (next) => (delivery) =>
          Effect.sync(() => log.push(`${name}:deliver>`)).pipe(
            Effect.andThen(next(delivery)),
            Effect.tap(() => Effect.sync(() => log.push(`${name}:deliver<`)))
          )
      })
    )
  )

const withPlugins = (...plugins: ReadonlyArray<Plugin.Plugin>) =>
  Effect.provide(EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(...plugins))))

describe("middleware", () => {
  it.effect("wraps publish and delivery, the first plugin outermost", () => {
    const log: Array<string> = []
    return Effect.gen(function* () {
      const b = yield* bus
      yield* b.subscribe(Task, () => Effect.sync(() => log.push("handler")))
      yield* b.publishAndWait(Task, { n: 1 })
      expect(log).toEqual([
        "outer:publish>",
        "inner:publish>",
        "inner:publish<",
        "outer:publish<",
        "outer:deliver>",
        "inner:deliver>",
        "handler",
        "inner:deliver<",
        "outer:deliver<"
      ])
    }).pipe(withPlugins(tracing("outer", log), tracing("inner", log)))
  })

  it.effect("a publish middleware's verdicts are counted: rejected, deduplicated", () => {
    const seen = new Set<string>()
    const gate = Plugin.make(
      "gate",
      Effect.succeed(() =>
        Effect.succeed({
          publish: (next) => (envelope, definition) => {
            const p = envelope.payload as { orderId: string; total: number }
            if (p.total < 0) return Effect.fail(new Errors.InvalidEvent({ type: envelope.type, message: "negative" }))
            if (seen.has(p.orderId)) {
              return Effect.succeed({
                id: envelope.id,
                type: envelope.type,
                lane: envelope.priority,
                status: "deduplicated" as const
              })
            }
            seen.add(p.orderId)
            return next(envelope, definition)
          }
        })
      )
    )
    return Effect.gen(function* () {
      const b = yield* bus
      yield* b.publish(OrderPlaced, { orderId: "a", total: 1 })
      const repeat = yield* b.publishAndWait(OrderPlaced, { orderId: "a", total: 1 })
      const invalid = yield* Effect.flip(b.publish(OrderPlaced, { orderId: "b", total: -1 }))
      yield* b.drain
      expect(repeat.status).toBe("deduplicated")
      expect(invalid._tag).toBe("InvalidEvent")
      const stats = yield* b.stats
      expect(stats).toMatchObject({ published: 3, accepted: 1, deduplicated: 1, rejected: 1 })
    }).pipe(withPlugins(gate))
  })

  it.effect("a delivery middleware may fail a delivery with a typed reason", () => {
    const breaker = Plugin.make(
      "breaker",
      Effect.succeed(() =>
        Effect.succeed({
          delivery: () => (delivery) =>
            Effect.fail(new Delivery.CircuitOpen({ subscription: delivery.subscription.name }))
        })
      )
    )
    return Effect.gen(function* () {
      const b = yield* bus
      let called = 0
      yield* b.subscribe(Task, () => Effect.sync(() => called++), { name: "guarded" })
      const result = yield* b.publishAndWait(Task, { n: 1 })
      expect(called).toBe(0)
      expect(result.deliveries[0]).toMatchObject({ status: "rejected", error: { _tag: "CircuitOpen" } })
      expect((yield* b.stats).deliveries.rejected).toBe(1)
    }).pipe(withPlugins(breaker))
  })

  it.effect("with middleware, handler failures and timeouts reach the chain typed", () => {
    const errors: Array<string> = []
    const spy = Plugin.make(
      "spy",
      Effect.succeed(() =>
        Effect.succeed({
          delivery: (next) => (delivery) =>
            Effect.tapError(next(delivery), (e) => Effect.sync(() => errors.push(e._tag)))
        })
      )
    )
    return Effect.gen(function* () {
      const b = yield* bus
      yield* b.subscribe(Task, () => Effect.fail("x"), { name: "fails" })
      yield* b.subscribe(Task, () => Effect.never, { name: "hangs", timeout: "1 second" })
      const waiting = yield* Effect.forkChild(b.publishAndWait(Task, { n: 1 }), { startImmediately: true })
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(waiting)
      expect(result.deliveries.map((d) => [d.subscription, d.status])).toEqual([
        ["fails", "failed"],
        ["hangs", "timedOut"]
      ])
      expect(errors).toEqual(["HandlerError", "HandlerTimeout"])
    }).pipe(withPlugins(spy))
  })

  it.effect("a dead-letter middleware marks a failed delivery dead-lettered", () => {
    const dlq = Plugin.make(
      "dlq",
      Effect.succeed(() =>
        Effect.succeed({
          delivery: (next) => (delivery) =>
            Effect.catch(next(delivery), (error) =>
              Effect.fail(
                new Delivery.DeadLettered({ error: error._tag === "DeadLettered" ? error.error : error, entryId: "e1" })
              )
            )
        })
      )
    )
    return Effect.gen(function* () {
      const b = yield* bus
      yield* b.subscribe(Task, () => Effect.fail("x"), { name: "fails" })
      const result = yield* b.publishAndWait(Task, { n: 1 })
      expect(result.deliveries[0]).toMatchObject({
        status: "failed",
        deadLettered: true,
        error: { _tag: "HandlerError" }
      })
      expect((yield* b.stats).deliveries).toMatchObject({ failed: 1, deadLettered: 1 })
    }).pipe(withPlugins(dlq))
  })

  it.effect("a failure that ends asynchronously is reported before publishAndWait resumes", () => {
    const later = Plugin.make(
      "later",
      Effect.succeed(() =>
        Effect.succeed({ delivery: (next) => (delivery) => Effect.andThen(Effect.yieldNow, next(delivery)) })
      )
    )
    return Effect.gen(function* () {
      const b = yield* bus
      yield* b.subscribe(Task, () => Effect.fail("x"), { name: "fails" })
      const result = yield* b.publishAndWait(Task, { n: 1 })
      expect(result.failed).toBe(1)
      yield* b.drain
      // the task, then its system.handler_error (counted apart)
      const stats = yield* b.stats
      expect(stats.published).toBe(1)
      expect(stats.system.published).toBe(1)
    }).pipe(withPlugins(later))
  })
})

describe("a pass-through delivery middleware", () => {
  const passThrough = Plugin.make(
    "pass",
    Effect.succeed(() => Effect.succeed({ delivery: (next) => (delivery) => next(delivery) }))
  )

  it.effect("runs the handler as without middleware: same outcomes, same timeout", () =>
    Effect.gen(function* () {
      const b = yield* bus
      let ok = 0
      yield* b.subscribe(Task, () => Effect.sync(() => ok++), { name: "ok" })
      yield* b.subscribe(Task, () => Effect.fail(new Delivery.CircuitOpen({ subscription: "forged" })), {
        name: "forger"
      })
      yield* b.subscribe(Task, () => Effect.never, { name: "hangs", timeout: "1 second" })
      const waiting = yield* Effect.forkChild(b.publishAndWait(Task, { n: 1 }), { startImmediately: true })
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(waiting)
      expect(ok).toBe(1)
      expect(result.deliveries.map((d) => [d.subscription, d.status, d.error?._tag])).toEqual([
        ["ok", "succeeded", undefined],
        ["forger", "failed", "HandlerError"],
        ["hangs", "timedOut", "HandlerTimeout"]
      ])
    }).pipe(withPlugins(passThrough))
  )
})
