/**
 * The production stack, end to end, and the order of its middlewares.
 *
 * `Plugin.layer(A, B, ...)` is outermost first: A's middleware wraps B's.
 * The recommended delivery order is
 *
 *   DeadLetter  ⟶  CircuitBreaker  ⟶  Retry  ⟶  (core: handler + timeout)
 *
 * - DeadLetter outermost: it sees the failure that remains after retries (one
 *   entry per failed delivery, with the attempts it took) and the circuit's
 *   rejections (reason CircuitOpen).
 * - CircuitBreaker outside Retry: it counts one outcome per delivery, so a
 *   delivery that a retry rescued is a success, and Retry never spins on an
 *   open circuit. (Inside Retry, the tries of a single bad delivery would trip
 *   it: see the last test.)
 * - Dedup is publish middleware: its position among the others only matters
 *   relative to other publish middleware (after Validation/Redaction, so it
 *   hashes what is actually published).
 */

import { describe, expect, it } from "@effect/vitest"
import type { Delivery } from "@eventfabric/core"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { Effect, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker, DeadLetter, DeadLetterQueue, Dedup, Retry } from "../src/index.ts"

// The core's deprecated `key` field is still honoured by Dedup.
const Charge = Event.define("payments.charge", {
  payload: Schema.Struct({ orderId: Schema.String }),
  key: (p) => p.orderId
})

const production = (...extra: ReadonlyArray<Plugin.Plugin<any, any>>) =>
  EventBus.EventBus.layer().pipe(
    Layer.provide(
      Plugin.layer(
        Dedup.plugin({ window: "1 second" }),
        DeadLetter.plugin(),
        CircuitBreaker.plugin({ failures: 3, openDuration: "1 minute" }),
        Retry.plugin({ times: 2, base: "10 millis", jitter: false }),
        ...extra
      )
    ),
    Layer.provideMerge(DeadLetterQueue.layerMemory({ capacity: 1000 }))
  )

/** Publishes and waits, advancing the clock past the retries' backoff (10 + 20 ms). */
const deliver = (orderId: string) =>
  Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    const fiber = yield* Effect.forkChild(bus.publishAndWait(Charge, { orderId }))
    yield* TestClock.adjust("30 millis")
    return yield* Fiber.join(fiber)
  })

describe("Composition", () => {
  it.effect("production stack: dedup, retry, dead letters, circuit opening, recovery", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const dlq = yield* DeadLetterQueue.DeadLetterQueue
      const health = { ok: false, flaky: 0 }
      const calls: Array<string> = []
      const system: Array<string> = []
      yield* bus.subscribe([CircuitBreaker.CircuitOpened, CircuitBreaker.CircuitClosed], (e) =>
        Effect.sync(() => system.push(e.type))
      )
      yield* bus.subscribe(
        Charge,
        (e) =>
          Effect.suspend(() => {
            calls.push(`${e.payload.orderId}#${e.attempt}`)
            if (health.flaky > 0) {
              health.flaky--
              return Effect.fail("blip")
            }
            return health.ok ? Effect.void : Effect.fail("gateway down")
          }),
        { name: "gateway" }
      )

      // A blip is absorbed by Retry: succeeded, nothing dead-lettered.
      health.ok = true
      health.flaky = 1
      expect((yield* deliver("o-1")).deliveries[0]).toMatchObject({ status: "succeeded", deadLettered: false })
      expect(calls).toEqual(["o-1#1", "o-1#2"])

      // Dedup: the same order inside the window is suppressed before any delivery.
      expect((yield* bus.publishAndWait(Charge, { orderId: "o-1" })).status).toBe("deduplicated")

      // The gateway goes down: each delivery takes 3 tries, then is dead-lettered.
      health.ok = false
      calls.length = 0
      for (const orderId of ["o-2", "o-3", "o-4"]) {
        expect((yield* deliver(orderId)).deliveries[0]).toMatchObject({ status: "failed", deadLettered: true })
      }
      expect(calls).toHaveLength(9)
      // The breaker counted deliveries, not tries: it opened after the third one.
      const rejected = yield* deliver("o-5")
      expect(rejected.deliveries[0]).toMatchObject({ status: "rejected", deadLettered: true })
      expect(calls).toHaveLength(9) // not called, and Retry did not spin on the open circuit

      const entries = yield* dlq.list()
      expect(entries.map((e) => [e.envelope.payload, e.reason, e.attempts])).toEqual([
        [{ orderId: "o-2" }, "HandlerError", 3],
        [{ orderId: "o-3" }, "HandlerError", 3],
        [{ orderId: "o-4" }, "HandlerError", 3],
        [{ orderId: "o-5" }, "CircuitOpen", 1]
      ])

      // Recovery: after the open time the gateway is back; replay the dead letters.
      yield* TestClock.adjust("1 minute")
      health.ok = true
      const replay = yield* Effect.forkChild(dlq.retryAll())
      yield* TestClock.adjust("30 millis")
      expect(yield* Fiber.join(replay)).toMatchObject({ total: 4, succeeded: 4, failed: 0 })
      expect(yield* dlq.list()).toEqual([])
      expect(calls.slice(9)).toEqual(["o-2#4", "o-3#4", "o-4#4", "o-5#2"])

      yield* bus.drain
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      yield* bus.drain
      expect(system).toEqual(["system.circuit_opened", "system.circuit_closed"])
      const stats = yield* bus.stats
      expect(stats.deduplicated).toBe(1)
      const gateway = stats.subscriptions.find((s) => s.name === "gateway")!
      expect(gateway).toMatchObject({ succeeded: 5, failed: 3, rejected: 1, deadLettered: 4 })
    }).pipe(Effect.provide(production()))
  )

  it.effect("order: which middleware wraps which (Plugin.layer is outermost first)", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.subscribe(Charge, () => Effect.fail("down"), { name: "gateway" })
      yield* deliver("o-1")
      // One delivery: DeadLetter's outside sees it once, ending DeadLettered;
      // the breaker's inside sees it once (one outcome per delivery); Retry's
      // inside sees each of the 3 tries with its attempt number.
      expect(trace).toEqual([
        "outer enter 1",
        "between-dlq-and-breaker enter 1",
        "between-breaker-and-retry enter 1",
        "inner enter 1",
        "inner exit HandlerError",
        "inner enter 2",
        "inner exit HandlerError",
        "inner enter 3",
        "inner exit HandlerError",
        "between-breaker-and-retry exit HandlerError",
        "between-dlq-and-breaker exit HandlerError",
        "outer exit DeadLettered"
      ])
    }).pipe(
      Effect.provide(
        EventBus.EventBus.layer().pipe(
          Layer.provide(
            Plugin.layer(
              Tracer("outer"),
              DeadLetter.plugin(),
              Tracer("between-dlq-and-breaker"),
              CircuitBreaker.plugin({ failures: 3 }),
              Tracer("between-breaker-and-retry"),
              Retry.plugin({ times: 2, base: "10 millis", jitter: false }),
              Tracer("inner")
            )
          ),
          Layer.provideMerge(DeadLetterQueue.layerMemory())
        )
      ),
      Effect.ensuring(Effect.sync(() => (trace.length = 0)))
    )
  )

  it.effect("why the breaker goes outside Retry: inside, one bad delivery's tries trip it", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      let calls = 0
      yield* bus.subscribe(
        Charge,
        () =>
          Effect.andThen(
            Effect.sync(() => calls++),
            Effect.fail("down")
          ),
        { name: "gateway" }
      )
      const first = yield* deliver("o-1")
      // Retry (outer) tried 3 times; the breaker (inner) opened on the third try.
      expect(calls).toBe(3)
      expect(first.deliveries[0]!.status).toBe("failed")
      // A single failed delivery has already shut the subscription off.
      expect((yield* deliver("o-2")).deliveries[0]!.status).toBe("rejected")
      expect(calls).toBe(3)
    }).pipe(
      Effect.provide(
        EventBus.EventBus.layer().pipe(
          Layer.provide(
            Plugin.layer(
              Retry.plugin({ times: 2, base: "10 millis", jitter: false }),
              CircuitBreaker.plugin({ failures: 3 })
            )
          )
        )
      )
    )
  )
})

const trace: Array<string> = []

/** A plugin that records what passes through its place in the chain. */
const Tracer = (label: string) =>
  Plugin.make(
    `Tracer(${label})`,
    Effect.succeed(() =>
      Effect.succeed({
        delivery: (next: (d: Delivery.Delivery) => Effect.Effect<void, any>) => (d: Delivery.Delivery) =>
          Effect.suspend(() => {
            trace.push(`${label} enter ${d.envelope.attempt}`)
            return next(d).pipe(
              Effect.tapError((e: { _tag: string }) => Effect.sync(() => trace.push(`${label} exit ${e._tag}`)))
            )
          })
      })
    )
  )
