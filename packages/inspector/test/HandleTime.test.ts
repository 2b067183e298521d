import { assert, describe, it } from "@effect/vitest"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { Effect, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { HandleTime } from "../src/index.ts"

const ms = 1_000_000

describe("HandleTime", () => {
  it("reports p50 and p95 within one bucket (19%) above the true value, and the exact max", () => {
    const recorder = HandleTime.makeRecorder()
    for (let i = 0; i < 90; i++) recorder.record("mailer", 1 * ms)
    for (let i = 0; i < 10; i++) recorder.record("mailer", 100 * ms)
    const p = recorder.snapshot().get("mailer")!
    assert.strictEqual(p.count, 100)
    assert.isAtLeast(p.p50Ms, 1)
    assert.isAtMost(p.p50Ms, 1.19)
    assert.isAtLeast(p.p95Ms, 100)
    assert.isAtMost(p.p95Ms, 100)
    assert.strictEqual(p.maxMs, 100)
  })

  it("keeps the last windows only: a subscription idle for all of them disappears", () => {
    const recorder = HandleTime.makeRecorder(3)
    recorder.record("a", 5 * ms)
    assert.strictEqual(recorder.snapshot().get("a")?.count, 1)
    assert.strictEqual(recorder.snapshot().get("a")?.count, 1)
    assert.strictEqual(recorder.snapshot().get("a")?.count, 1)
    assert.isUndefined(recorder.snapshot().get("a"))
  })

  it("counts sub-microsecond and very long deliveries without losing them", () => {
    const recorder = HandleTime.makeRecorder()
    recorder.record("s", 10)
    recorder.record("s", 1e15)
    const p = recorder.snapshot().get("s")!
    assert.strictEqual(p.count, 2)
    assert.isAtMost(p.p50Ms, 0.001)
  })

  const Slow = Event.define("jobs.slow", { payload: Schema.Struct({ n: Schema.Number }) })

  it.effect("the plugin times every delivery of a subscription, failures included", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const times = yield* HandleTime.HandleTimes
      yield* bus.subscribe(
        Slow,
        (e) => (e.payload.n === 0 ? Effect.fail("boom") : Effect.sleep(`${e.payload.n * 10} millis`)),
        { name: "worker" }
      )
      for (const n of [0, 5, 5, 5]) yield* bus.publish(Slow, { n })
      const drained = yield* Effect.forkChild(bus.drain)
      for (let i = 0; i < 20; i++) yield* TestClock.adjust("10 millis")
      yield* Fiber.join(drained)
      const p = times.snapshot().get("worker")!
      assert.strictEqual(p.count, 4)
      assert.isAtLeast(p.p50Ms, 50)
      assert.isAtMost(p.p50Ms, 60)
      assert.strictEqual(p.maxMs, 50)
    }).pipe(
      Effect.provide(
        EventBus.EventBus.layer().pipe(
          Layer.provide(Plugin.layer(HandleTime.plugin())),
          Layer.provideMerge(HandleTime.HandleTimes.layer)
        )
      )
    )
  )
})
