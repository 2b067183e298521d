import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { Effect, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { CircuitBreaker } from "../src/index.ts"

const Call = Event.define("payments.charge", { payload: Schema.Struct({ n: Schema.Number }) })

let shared = false
const busWith = (options: CircuitBreaker.Options) =>
  EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(CircuitBreaker.plugin({ ...options, shared }))))

/** Lets the transition fibers publish, then waits for the bus to be idle. */
const settle = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  for (let i = 0; i < 5; i++) yield* Effect.yieldNow
  yield* bus.drain
})

/** A subscription whose handler fails while `health.ok` is false; records events and calls. */
const setup = (name = "payments") =>
  Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    const health = { ok: false }
    const calls: Array<number> = []
    const events: Array<string> = []
    yield* bus.subscribe(CircuitBreaker.CircuitOpened, (e) =>
      Effect.sync(() =>
        events.push(`opened ${e.payload.subscription} ${e.payload.trigger} ${e.payload.retryAfterMillis}`)
      )
    )
    yield* bus.subscribe(CircuitBreaker.CircuitClosed, (e) =>
      Effect.sync(() => events.push(`closed ${e.payload.subscription}`))
    )
    yield* bus.subscribe(
      Call,
      (e) =>
        Effect.suspend(() => {
          calls.push(e.payload.n)
          return health.ok ? Effect.void : Effect.fail("gateway down")
        }),
      { name }
    )
    const deliver = (n: number) =>
      Effect.map(bus.publishAndWait(Call, { n }), (r) => r.deliveries.find((o) => o.subscription === name)!.status)
    return { bus, health, calls, events, deliver }
  })

// The same behaviour in-process (a state machine) and shared (the
// effect/persistence breaker over its store).
describe.each([false, true])("CircuitBreaker (shared: %s)", (sharedMode) => {
  beforeAll(() => {
    shared = sharedMode
  })

  it.effect("opens on consecutive failures, rejects while open, probes after openDuration, closes", () =>
    Effect.gen(function* () {
      const { calls, deliver, events, health } = yield* setup()
      // A success resets the streak: F F S F F stays closed.
      expect(yield* deliver(1)).toBe("failed")
      expect(yield* deliver(2)).toBe("failed")
      health.ok = true
      expect(yield* deliver(3)).toBe("succeeded")
      health.ok = false
      expect(yield* deliver(4)).toBe("failed")
      expect(yield* deliver(5)).toBe("failed")
      yield* settle
      expect(events).toEqual([])
      // The third in a row opens it.
      expect(yield* deliver(6)).toBe("failed")
      yield* settle
      expect(events).toEqual(["opened payments consecutive 60000"])
      // Open: rejected without calling the handler.
      expect(yield* deliver(7)).toBe("rejected")
      yield* TestClock.adjust("59 seconds")
      expect(yield* deliver(8)).toBe("rejected")
      expect(calls).toEqual([1, 2, 3, 4, 5, 6])
      // Half-open: the next delivery is the probe; its success closes the circuit.
      yield* TestClock.adjust("1 second")
      health.ok = true
      expect(yield* deliver(9)).toBe("succeeded")
      yield* settle
      expect(events).toEqual(["opened payments consecutive 60000", "closed payments"])
      expect(yield* deliver(10)).toBe("succeeded")
      expect(calls).toEqual([1, 2, 3, 4, 5, 6, 9, 10])
      const stats = yield* (yield* EventBus.EventBus).stats
      expect(stats.subscriptions.find((s) => s.name === "payments")).toMatchObject({
        failed: 5,
        rejected: 2,
        succeeded: 3
      })
    }).pipe(Effect.provide(busWith({ failures: 3, openDuration: "1 minute" })))
  )

  it.effect("a failed probe reopens, for longer with maxOpenDuration", () =>
    Effect.gen(function* () {
      const { calls, deliver, events } = yield* setup()
      expect(yield* deliver(1)).toBe("failed")
      expect(yield* deliver(2)).toBe("rejected")
      yield* TestClock.adjust("1 second")
      expect(yield* deliver(3)).toBe("failed") // the probe fails
      expect(yield* deliver(4)).toBe("rejected")
      yield* TestClock.adjust("1 second") // reopened for 2 s this time
      expect(yield* deliver(5)).toBe("rejected")
      yield* TestClock.adjust("1 second")
      expect(yield* deliver(6)).toBe("failed") // next probe
      expect(calls).toEqual([1, 3, 6])
      yield* settle
      // Still open throughout: one opened event, no closed one.
      expect(events).toEqual(["opened payments consecutive 1000"])
    }).pipe(Effect.provide(busWith({ failures: 1, openDuration: "1 second", maxOpenDuration: "1 minute" })))
  )

  it.effect("opens on the failure rate over the last deliveries", () =>
    Effect.gen(function* () {
      const { deliver, events, health } = yield* setup()
      for (const n of [1, 2, 3]) {
        health.ok = n % 2 === 1
        yield* deliver(n) // S F S: 1/3 failed, not yet minimumCalls
      }
      yield* settle
      expect(events).toEqual([])
      health.ok = false
      expect(yield* deliver(4)).toBe("failed") // S F S F: 2/4 = threshold
      expect(yield* deliver(5)).toBe("rejected")
      yield* settle
      expect(events).toEqual(["opened payments rate 30000"])
    }).pipe(Effect.provide(busWith({ failureRate: { threshold: 0.5, size: 4 } })))
  )

  it.effect("with both policies, either one opens the circuit; it closes when both are closed", () =>
    Effect.gen(function* () {
      const { deliver, events, health } = yield* setup()
      // Alternating outcomes never make 3 in a row, but reach a 50% rate.
      for (const n of [1, 2, 3, 4]) {
        health.ok = n % 2 === 1
        yield* deliver(n)
      }
      expect(yield* deliver(5)).toBe("rejected")
      yield* TestClock.adjust("30 seconds")
      health.ok = true
      expect(yield* deliver(6)).toBe("succeeded")
      yield* settle
      expect(events).toEqual(["opened payments rate 30000", "closed payments"])
    }).pipe(Effect.provide(busWith({ failures: 3, failureRate: { threshold: 0.5, size: 4 } })))
  )

  it.effect("counts slow deliveries as failures", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const calls: Array<number> = []
      yield* bus.subscribe(
        Call,
        (e) =>
          Effect.andThen(
            Effect.sync(() => calls.push(e.payload.n)),
            Effect.sleep("300 millis")
          ),
        {
          name: "slow"
        }
      )
      const deliver = (n: number) =>
        Effect.gen(function* () {
          const fiber = yield* Effect.forkChild(bus.publishAndWait(Call, { n }))
          yield* TestClock.adjust("300 millis")
          return (yield* Fiber.join(fiber)).deliveries[0]!.status
        })
      // Slow but successful deliveries still succeed for the caller...
      expect(yield* deliver(1)).toBe("succeeded")
      expect(yield* deliver(2)).toBe("succeeded")
      // ...yet two of them in a row open the circuit.
      expect(yield* deliver(3)).toBe("rejected")
      expect(calls).toEqual([1, 2])
    }).pipe(Effect.provide(busWith({ failures: 2, slowCall: "250 millis" })))
  )

  it.effect("one circuit per subscription: another subscription is not affected", () =>
    Effect.gen(function* () {
      const { bus, deliver } = yield* setup("payments")
      const other: Array<number> = []
      yield* bus.subscribe(Call, (e) => Effect.sync(() => other.push(e.payload.n)), { name: "audit" })
      yield* deliver(1)
      expect(yield* deliver(2)).toBe("rejected")
      expect(other).toEqual([1, 2])
    }).pipe(Effect.provide(busWith({ failures: 1 })))
  )

  it.effect("a bad config fails the layer with the path and the expectation", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(
          Plugin.layer(CircuitBreaker.plugin({ failures: 0, failureRate: { threshold: 2, size: 4, minimumCalls: 8 } }))
        )
      )
      expect(error._tag).toBe("InvalidOptions")
      expect(error.message).toContain(`["failures"]`)
      expect(error.message).toContain(`["failureRate"]["threshold"]`)
      const rate = yield* Effect.flip(
        Layer.build(Plugin.layer(CircuitBreaker.plugin({ failureRate: { threshold: 0.5, size: 4, minimumCalls: 8 } })))
      )
      expect(rate.message).toContain("minimumCalls must not exceed size")
      expect(rate.message).toContain(`["failureRate"]["minimumCalls"]`)
    })
  )
})
