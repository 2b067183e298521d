import { describe, expect, it } from "@effect/vitest"
import { type Delivery, Event, EventBus, Plugin } from "@eventfabric/core"
import { Cause, Duration, Effect, Layer, Schema } from "effect"
import { DeadLetter, DeadLetterQueue, Retry, RetryLater } from "../src/index.ts"

const Job = Event.define("jobs.run", { payload: Schema.Struct({ n: Schema.Number }) })

const busWith = (...plugins: ReadonlyArray<Plugin.Plugin<any, any>>) =>
  EventBus.EventBus.layer().pipe(
    Layer.provide(Plugin.layer(...plugins)),
    Layer.provideMerge(DeadLetterQueue.layerMemory({ capacity: 100 }))
  )

/** A delivery as a transport's consumer makes it: the engine's delivery count in the header. */
const transported = (deliveries: number, attempt = deliveries) => ({
  attempt,
  headers: { [RetryLater.header]: String(deliveries) }
})

const deferral = (error: Delivery.DeliveryError | undefined) => {
  if (error?._tag !== "HandlerError") return undefined
  const found = Cause.findErrorOption(error.cause)
  return found._tag === "Some" && found.value instanceof RetryLater.RetryLaterError ? found.value : undefined
}

// Under TestClock: a Retry that slept would never answer, so each answer proves nothing waited in process.
describe("Retry on a transported event", () => {
  it.effect("fails the delivery at once with the schedule's next delay instead of sleeping", () =>
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
      const delays: Array<number | undefined> = []
      for (const n of [1, 2, 3]) {
        const result = yield* bus.publishAndWait(Job, { n }, transported(n))
        const later = deferral(result.deliveries[0]!.error)
        delays.push(later === undefined ? undefined : Duration.toMillis(later.delay))
        expect(later?.attempt).toBe(n + 1)
        expect(later?.error._tag).toBe("HandlerError")
        expect(result.deliveries[0]!.deadLettered).toBe(false)
      }
      expect(attempts).toEqual([1, 2, 3]) // one try per delivery
      expect(delays).toEqual([100, 200, 400])
      expect(yield* (yield* DeadLetterQueue.DeadLetterQueue).list()).toEqual([])
    }).pipe(Effect.provide(busWith(DeadLetter.plugin(), Retry.plugin({ times: 3, base: "100 millis", jitter: false }))))
  )

  it.effect("past `times` deliveries it gives up with the handler's error, which DeadLetter stores", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.subscribe(Job, () => Effect.fail("down"), { name: "worker" })
      const result = yield* bus.publishAndWait(Job, { n: 1 }, transported(3))
      const outcome = result.deliveries[0]!
      expect(deferral(outcome.error)).toBeUndefined()
      expect(outcome.deadLettered).toBe(true)
      const [letter] = yield* (yield* DeadLetterQueue.DeadLetterQueue).list()
      expect([letter?.reason, letter?.attempts]).toEqual(["HandlerError", 3])
    }).pipe(Effect.provide(busWith(DeadLetter.plugin(), Retry.plugin({ times: 2, base: "100 millis", jitter: false }))))
  )

  it.effect("an error Retry does not retry is not deferred", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.subscribe(Job, () => Effect.fail("bad request"), { name: "worker" })
      const result = yield* bus.publishAndWait(Job, { n: 1 }, transported(1))
      expect(result.deliveries[0]!.error?._tag).toBe("HandlerError")
      expect(deferral(result.deliveries[0]!.error)).toBeUndefined()
    }).pipe(Effect.provide(busWith(Retry.plugin({ times: 3 }, { while: () => false }))))
  )

  it("only a delivery count of 1 or more marks an envelope as transported", () => {
    const envelope = (value: string | undefined) => ({
      id: "1",
      type: "jobs.run",
      payload: { n: 1 },
      priority: "normal" as const,
      publishedAt: 0,
      attempt: 1,
      headers: value === undefined ? {} : { [RetryLater.header]: value }
    })
    expect(["3", "1", undefined, "junk", "0", "1.5", "-2"].map((v) => RetryLater.deliveries(envelope(v)))).toEqual([
      3,
      1,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined
    ])
  })
})
