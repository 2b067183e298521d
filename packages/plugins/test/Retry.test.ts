import { describe, expect, it } from "@effect/vitest"
import { Delivery, Event, EventBus, Plugin } from "@eventfabric/core"
import { Duration, Effect, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Retry } from "../src/index.ts"

const Job = Event.define("jobs.run", { payload: Schema.Struct({ n: Schema.Number }) })

const busWith = (...plugins: ReadonlyArray<Plugin.Plugin<any, any>>) =>
  EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(...plugins)))

/** A handler that records each attempt and fails until the envelope's attempt reaches `succeedAt`. */
const recordingUntil = (succeedAt: number, before: Effect.Effect<void, string>) => {
  const attempts: Array<number> = []
  const handler = (e: { readonly attempt: number }) =>
    Effect.suspend(() => {
      attempts.push(e.attempt)
      return e.attempt < succeedAt ? before : Effect.void
    })
  return { attempts, handler }
}
const failingUntil = (succeedAt: number) => recordingUntil(succeedAt, Effect.fail("flaky"))
const hangingUntil = (succeedAt: number) => recordingUntil(succeedAt, Effect.never)

describe("Retry", () => {
  it.effect("retries on the exponential schedule and advances the envelope's attempt", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const { attempts, handler } = failingUntil(3)
      yield* bus.subscribe(Job, handler, { name: "worker" })
      const fiber = yield* Effect.forkChild(bus.publishAndWait(Job, { n: 1 }))
      yield* TestClock.adjust("1 millis")
      expect(attempts).toEqual([1])
      yield* TestClock.adjust("99 millis") // first delay: base = 100 ms
      expect(attempts).toEqual([1, 2])
      yield* TestClock.adjust("199 millis") // second delay: 200 ms
      expect(attempts).toEqual([1, 2])
      yield* TestClock.adjust("1 millis")
      expect(attempts).toEqual([1, 2, 3])
      const result = yield* Fiber.join(fiber)
      expect(result.succeeded).toBe(1)
      const stats = yield* bus.stats
      expect(stats.deliveries.succeeded).toBe(1)
      expect(stats.deliveries.failed).toBe(0)
    }).pipe(Effect.provide(busWith(Retry.plugin({ times: 3, base: "100 millis", jitter: false }))))
  )

  it.effect("gives up after `times` retries with the last error", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const attempts: Array<number> = []
      yield* bus.subscribe(
        Job,
        (e) =>
          Effect.andThen(
            Effect.sync(() => attempts.push(e.attempt)),
            Effect.fail("down")
          ),
        {
          name: "worker"
        }
      )
      const fiber = yield* Effect.forkChild(bus.publishAndWait(Job, { n: 1 }))
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      expect(attempts).toEqual([1, 2, 3])
      expect(result.deliveries[0]!.status).toBe("failed")
      expect(result.deliveries[0]!.error?._tag).toBe("HandlerError")
    }).pipe(Effect.provide(busWith(Retry.plugin({ times: 2, base: "10 millis", jitter: false }))))
  )

  it.effect("retries timeouts; delays are capped at maxDelay", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const { attempts, handler } = hangingUntil(3)
      yield* bus.subscribe(Job, handler, { name: "worker", timeout: "50 millis" })
      const fiber = yield* Effect.forkChild(bus.publishAndWait(Job, { n: 1 }))
      yield* TestClock.adjust("50 millis") // first try times out
      yield* TestClock.adjust("100 millis") // capped delay (base 1 s, cap 100 ms)
      expect(attempts).toEqual([1, 2])
      yield* TestClock.adjust("150 millis")
      expect(attempts).toEqual([1, 2, 3])
      const result = yield* Fiber.join(fiber)
      expect(result.succeeded).toBe(1)
    }).pipe(Effect.provide(busWith(Retry.plugin({ base: "1 second", maxDelay: "100 millis", jitter: false }))))
  )

  it.effect("jitter keeps each delay within [0.8, 1.2] of the nominal one", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const { attempts, handler } = failingUntil(2)
      yield* bus.subscribe(Job, handler, { name: "worker" })
      const fiber = yield* Effect.forkChild(bus.publishAndWait(Job, { n: 1 }))
      yield* TestClock.adjust("799 millis")
      expect(attempts).toEqual([1])
      yield* TestClock.adjust("401 millis")
      expect(attempts).toEqual([1, 2])
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(busWith(Retry.plugin({ base: "1 second" }))))
  )

  it.effect("does not retry errors outside retryOn, nor the predicate's refusals", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      let calls = 0
      yield* bus.subscribe(
        Job,
        () =>
          Effect.andThen(
            Effect.sync(() => calls++),
            Effect.fail("bad request")
          ),
        { name: "worker" }
      )
      const result = yield* bus.publishAndWait(Job, { n: 1 })
      expect(calls).toBe(1)
      expect(result.deliveries[0]!.status).toBe("failed")
    }).pipe(Effect.provide(busWith(Retry.plugin({ times: 5 }, { while: (e) => e._tag !== "HandlerError" }))))
  )

  it.effect("never retries CircuitOpen by default", () =>
    Effect.sync(() => {
      const p = Retry.policy({})
      expect(p.shouldRetry(new Delivery.CircuitOpen({ subscription: "s" }))).toBe(false)
      expect(p.shouldRetry(new Delivery.HandlerTimeout({ subscription: "s", timeout: Duration.seconds(1) }))).toBe(true)
      expect(
        Retry.policy({ retryOn: ["CircuitOpen"] }).shouldRetry(new Delivery.CircuitOpen({ subscription: "s" }))
      ).toBe(true)
    })
  )

  it.effect("a bad config fails the layer with the path and the expectation", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(Plugin.layer(Retry.plugin({ times: -1, retryOn: ["Nope" as never] })))
      )
      expect(error._tag).toBe("InvalidOptions")
      expect(error.message).toContain(`["times"]`)
      expect(error.message).toContain("greater than or equal to 0")
      expect(error.message).toContain(`["retryOn"][0]`)
    })
  )
})
