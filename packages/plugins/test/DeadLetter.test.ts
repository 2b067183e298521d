import { describe, expect, it } from "@effect/vitest"
import { Delivery, Event, EventBus, Plugin } from "@eventfabric/core"
import { Deferred, Effect, Fiber, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { DeadLetter, Retry } from "../src/index.ts"

const OrderPlaced = Event.define("orders.placed", { payload: Schema.Struct({ orderId: Schema.String }) })
const Shipped = Event.define("orders.shipped", { payload: Schema.Struct({ orderId: Schema.String }) })

const busWith = (...plugins: ReadonlyArray<Plugin.Plugin<any, any>>) =>
  EventBus.EventBus.layer().pipe(
    Layer.provide(Plugin.layer(...plugins)),
    Layer.provideMerge(DeadLetter.DeadLetterQueue.layerMemory({ capacity: 100 }))
  )

/** A stand-in for an open circuit: every delivery is rejected. */
const RejectAll = Plugin.make(
  "RejectAll",
  Effect.succeed(() =>
    Effect.succeed({
      delivery: () => (d: Delivery.Delivery) =>
        Effect.fail(new Delivery.CircuitOpen({ subscription: d.subscription.name }))
    })
  )
)

describe("DeadLetter", () => {
  it.effect("HandlerError: stores the final failure after retries, with attempts and failure times", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const dlq = yield* DeadLetter.DeadLetterQueue
      yield* bus.subscribe(OrderPlaced, () => Effect.fail("smtp down"), { name: "mailer" })
      yield* TestClock.adjust("1 second")
      const fiber = yield* Effect.forkChild(bus.publishAndWait(OrderPlaced, { orderId: "o-1" }))
      yield* TestClock.adjust("30 millis") // retries at +10 ms and +30 ms
      const result = yield* Fiber.join(fiber)
      expect(result.deliveries[0]).toMatchObject({ status: "failed", deadLettered: true })
      const [entry] = yield* dlq.list()
      expect(entry).toMatchObject({
        id: DeadLetter.entryId("mailer", result.id),
        subscription: "mailer",
        reason: "HandlerError",
        attempts: 3,
        firstFailureAt: 1000,
        lastFailureAt: 1030
      })
      expect(entry!.cause).toContain("smtp down")
      expect(entry!.envelope.payload).toEqual({ orderId: "o-1" })
      const stats = yield* bus.stats
      expect(stats.deliveries.failed).toBe(1)
      expect(stats.deliveries.deadLettered).toBe(1)
    }).pipe(Effect.provide(busWith(DeadLetter.plugin(), Retry.plugin({ times: 2, base: "10 millis", jitter: false }))))
  )

  it.effect("HandlerTimeout: a handler that never ends, with a short timeout", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const dlq = yield* DeadLetter.DeadLetterQueue
      yield* bus.subscribe(OrderPlaced, () => Effect.never, { name: "slow", timeout: "100 millis" })
      const fiber = yield* Effect.forkChild(bus.publishAndWait(OrderPlaced, { orderId: "o-1" }))
      yield* TestClock.adjust("100 millis")
      const result = yield* Fiber.join(fiber)
      expect(result.deliveries[0]).toMatchObject({ status: "timedOut", deadLettered: true })
      const entries = yield* dlq.byReason("HandlerTimeout")
      expect(entries).toHaveLength(1)
      expect(entries[0]).toMatchObject({ subscription: "slow", attempts: 1, firstFailureAt: 100, lastFailureAt: 100 })
      expect(entries[0]!.cause).toContain("timed out")
    }).pipe(Effect.provide(busWith(DeadLetter.plugin())))
  )

  it.effect("CircuitOpen: rejections of an inner breaker are stored, counted rejected", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const dlq = yield* DeadLetter.DeadLetterQueue
      let calls = 0
      yield* bus.subscribe(OrderPlaced, () => Effect.sync(() => calls++), { name: "guarded" })
      const result = yield* bus.publishAndWait(OrderPlaced, { orderId: "o-1" })
      expect(calls).toBe(0)
      expect(result.deliveries[0]).toMatchObject({ status: "rejected", deadLettered: true })
      expect((yield* dlq.byReason("CircuitOpen")).map((e) => e.subscription)).toEqual(["guarded"])
      expect((yield* bus.stats).deliveries).toMatchObject({ rejected: 1, deadLettered: 1 })
    }).pipe(Effect.provide(busWith(DeadLetter.plugin(), RejectAll)))
  )

  it.effect("Overflow: a delivery refused by a full mailbox is stored through the core's undelivered hook", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const dlq = yield* DeadLetter.DeadLetterQueue
      const gate = yield* Deferred.make<void>()
      const seen: Array<string> = []
      yield* bus.subscribe(
        OrderPlaced,
        (e) =>
          Effect.andThen(
            Deferred.await(gate),
            Effect.sync(() => seen.push(e.payload.orderId))
          ),
        { name: "blocked", mailbox: { capacity: 1, strategy: "fail" } }
      )
      // o-1 runs (blocked), o-2 waits in the mailbox, o-3 overflows.
      const fibers = []
      for (const orderId of ["o-1", "o-2", "o-3"]) {
        fibers.push(yield* Effect.forkChild(bus.publishAndWait(OrderPlaced, { orderId })))
        yield* TestClock.adjust("1 millis")
      }
      const third = yield* Fiber.join(fibers[2]!)
      const overflowed = third.deliveries.find((o) => o.subscription === "blocked")!
      expect(overflowed).toMatchObject({ status: "overflowed", deadLettered: true, error: { _tag: "Overflow" } })
      const [entry] = yield* dlq.byReason("Overflow")
      expect(entry).toMatchObject({ reason: "Overflow", subscription: "blocked", attempts: 1 })
      expect(entry!.envelope.payload).toEqual({ orderId: "o-3" })
      expect(entry!.cause).toContain("capacity 1")
      expect((yield* bus.stats).deliveries).toMatchObject({ overflowed: 1, deadLettered: 1 })

      // Once the handler catches up, the overflowed event is re-delivered.
      yield* Deferred.succeed(gate, undefined)
      yield* bus.drain
      const outcome = yield* dlq.retry(entry!.id)
      expect(outcome.status).toBe("succeeded")
      expect(seen).toEqual(["o-1", "o-2", "o-3"])
      expect(yield* dlq.get(entry!.id)).toEqual(Option.none())
    }).pipe(Effect.provide(busWith(DeadLetter.plugin())))
  )

  it.effect("retry(id) re-delivers to the original subscription only, attempt + 1, removing the entry on success", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const dlq = yield* DeadLetter.DeadLetterQueue
      let healthy = false
      const mailer: Array<number> = []
      const other: Array<number> = []
      yield* bus.subscribe(
        OrderPlaced,
        (e) =>
          Effect.suspend(() => {
            mailer.push(e.attempt)
            return healthy ? Effect.void : Effect.fail("down")
          }),
        { name: "mailer" }
      )
      yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => other.push(e.attempt)), { name: "other" })
      yield* bus.publishAndWait(OrderPlaced, { orderId: "o-1" })
      const [entry] = yield* dlq.list()
      expect(entry!.attempts).toBe(1)

      // Still failing: the same entry is updated, first failure kept.
      yield* TestClock.adjust("5 seconds")
      const again = yield* dlq.retry(entry!.id)
      expect(again).toMatchObject({ status: "failed", deadLettered: true })
      const updated = Option.getOrThrow(yield* dlq.get(entry!.id))
      expect(updated).toMatchObject({ attempts: 2, firstFailureAt: 0, lastFailureAt: 5000 })
      expect((yield* dlq.list()).length).toBe(1)

      healthy = true
      const ok = yield* dlq.retry(entry!.id)
      expect(ok.status).toBe("succeeded")
      expect(mailer).toEqual([1, 2, 3])
      expect(other).toEqual([1])
      expect(yield* dlq.list()).toEqual([])
      expect(yield* dlq.stats).toMatchObject({ size: 0, recorded: 2, retried: 2, recovered: 1 })
      const missing = yield* Effect.flip(dlq.retry(entry!.id))
      expect(missing._tag).toBe("EntryNotFound")
    }).pipe(Effect.provide(busWith(DeadLetter.plugin())))
  )

  it.effect("list / byType / byReason / get / retryAll(filter) / purge / purgeOlderThan", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const dlq = yield* DeadLetter.DeadLetterQueue
      let healthy = false
      yield* bus.subscribe([OrderPlaced, Shipped], () => (healthy ? Effect.void : Effect.fail("down")), {
        name: "ops"
      })
      yield* bus.publishAndWait(OrderPlaced, { orderId: "o-1" })
      yield* TestClock.adjust("10 minutes")
      yield* bus.publishAndWait(Shipped, { orderId: "o-1" })
      yield* bus.publishAndWait(OrderPlaced, { orderId: "o-2" })

      expect((yield* dlq.list()).map((e) => e.envelope.payload)).toEqual([
        { orderId: "o-1" },
        { orderId: "o-1" },
        { orderId: "o-2" }
      ])
      expect(yield* dlq.byType("orders.shipped")).toHaveLength(1)
      expect(yield* dlq.byReason("HandlerError")).toHaveLength(3)
      expect(yield* dlq.byReason("HandlerTimeout")).toHaveLength(0)
      expect(yield* dlq.list({ limit: 2 })).toHaveLength(2)

      // Purge what failed more than 5 minutes ago: the first o-1.
      expect(yield* dlq.purgeOlderThan("5 minutes")).toBe(1)
      expect((yield* dlq.list()).map((e) => e.envelope.type)).toEqual(["orders.shipped", "orders.placed"])

      healthy = true
      const result = yield* dlq.retryAll({ type: "orders.placed" })
      expect(result).toMatchObject({ total: 1, succeeded: 1, failed: 0 })
      expect((yield* dlq.list()).map((e) => e.envelope.type)).toEqual(["orders.shipped"])
      expect(yield* dlq.purge()).toBe(1)
      expect(yield* dlq.stats).toMatchObject({ size: 0, capacity: 100, evicted: 0 })
    }).pipe(Effect.provide(busWith(DeadLetter.plugin())))
  )

  it.effect("the memory store is bounded: the oldest entries are evicted and counted", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const dlq = yield* DeadLetter.DeadLetterQueue
      yield* bus.subscribe(OrderPlaced, () => Effect.fail("down"), { name: "s" })
      for (let i = 0; i < 5; i++) yield* bus.publishAndWait(OrderPlaced, { orderId: `o-${i}` })
      expect((yield* dlq.list()).map((e) => (e.envelope.payload as { orderId: string }).orderId)).toEqual([
        "o-2",
        "o-3",
        "o-4"
      ])
      expect(yield* dlq.stats).toMatchObject({ size: 3, capacity: 3, evicted: 2, recorded: 5 })
    }).pipe(
      Effect.provide(
        EventBus.EventBus.layer().pipe(
          Layer.provide(Plugin.layer(DeadLetter.plugin())),
          Layer.provideMerge(DeadLetter.DeadLetterQueue.layerMemory({ capacity: 3 }))
        )
      )
    )
  )

  it.effect("reasons narrows what is stored; retry without a bus or subscription fails typed", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const dlq = yield* DeadLetter.DeadLetterQueue
      yield* Effect.scoped(
        bus
          .subscribe(OrderPlaced, () => Effect.fail("down"), { name: "gone" })
          .pipe(Effect.andThen(bus.publishAndWait(OrderPlaced, { orderId: "o-1" })))
      )
      const timedOut = yield* Effect.scoped(
        bus
          .subscribe(OrderPlaced, () => Effect.never, {
            name: "t",
            timeout: "1 millis"
          })
          .pipe(
            Effect.andThen(Effect.forkChild(bus.publishAndWait(OrderPlaced, { orderId: "o-2" }))),
            Effect.tap(() => TestClock.adjust("1 millis")),
            Effect.flatMap(Fiber.join)
          )
      )
      expect(timedOut.deliveries[0]).toMatchObject({ status: "timedOut", deadLettered: false })
      const [entry] = yield* dlq.list()
      expect(entry!.subscription).toBe("gone")
      const error = yield* Effect.flip(dlq.retry(entry!.id))
      expect(error._tag).toBe("NoSubscription")
    }).pipe(Effect.provide(busWith(DeadLetter.plugin({ reasons: ["HandlerError"] }))))
  )

  it.effect("retry without an attached bus fails NotAttached", () =>
    Effect.gen(function* () {
      const dlq = yield* DeadLetter.DeadLetterQueue
      const error = yield* Effect.flip(dlq.retry("x"))
      expect(error._tag).toBe("NotAttached")
    }).pipe(Effect.provide(DeadLetter.DeadLetterQueue.layerMemory()))
  )

  it.effect("bad configs fail the layer with the path and the expectation", () =>
    Effect.gen(function* () {
      const plugin = yield* Effect.flip(
        Layer.build(
          Plugin.layer(DeadLetter.plugin({ reasons: ["Nope" as never] })).pipe(
            Layer.provide(DeadLetter.DeadLetterQueue.layerMemory())
          )
        )
      )
      expect(plugin.message).toContain(`["reasons"][0]`)
      const store = yield* Effect.flip(Layer.build(DeadLetter.layerMemory({ capacity: 0 })))
      expect(store._tag).toBe("InvalidOptions")
      expect(store.message).toContain("greater than 0")
      expect(store.message).toContain(`["capacity"]`)
    })
  )
})
