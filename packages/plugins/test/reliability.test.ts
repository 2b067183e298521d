/**
 * Regression tests for issue 11 in the plugins: each `it` fails on the code
 * before its fix.
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Errors, Event, EventBus, Facade, Plugin } from "@eventfabric/core"
import { Deferred, Effect, FileSystem, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Audit, Batching, CircuitBreaker, DeadLetter, Validation } from "../src/index.ts"

const Task = Event.define("tasks.done", { payload: Schema.Struct({ n: Schema.Number }) })
const Metric = Event.define("telemetry.metric", {
  payload: Schema.Struct({ n: Schema.Number }),
  priority: "low",
  batchable: true
})

describe("plugins reliability (issue 11)", () => {
  it("4. a Facade handler whose Promise rejects, on a bus with a dead-letter queue, fails typed and crashes nothing", async () => {
    const unhandled: Array<unknown> = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on("unhandledRejection", onUnhandled)
    try {
      const layer = EventBus.EventBus.layer().pipe(
        Layer.provide(Plugin.layer(DeadLetter.plugin())),
        Layer.provideMerge(DeadLetter.DeadLetterQueue.layerMemory({ capacity: 100 }))
      )
      const facade = await Facade.make(layer)
      facade.on(Task, () => Promise.reject(new Error("rejected")), { name: "error" })
      facade.on(Task, () => Promise.reject(null), { name: "null" })
      const result = await facade.emitAndWait(Task, { n: 1 })
      expect(result.deliveries.map((d) => [d.status, d.deadLettered])).toEqual([
        ["failed", true],
        ["failed", true]
      ])
      await facade.close()
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(unhandled).toEqual([])
    } finally {
      process.off("unhandledRejection", onUnhandled)
    }
  })

  it.effect("6. Validation.publishUnknown answers a type name that is not a string with a typed InvalidEvent", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const registry = Validation.registry(Task)
      for (const junk of [123, null, undefined, {}, Symbol("x"), ["tasks.done"]]) {
        const error = yield* Effect.flip(Validation.publishUnknown(bus, registry, junk as never, { n: 1 }))
        expect(error).toBeInstanceOf(Errors.InvalidEvent)
        expect(error.message).toContain("type")
      }
      const stats = yield* bus.stats
      expect(stats.rejected).toBe(6)
      expect(stats.published).toBe(6)
    }).pipe(Effect.provide(EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Validation.plugin())))))
  )

  it.effect(
    "7. a handler failing with a forged CircuitOpen value counts as a failure for the breaker, not a rejection",
    () =>
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        yield* bus.subscribe(Task, () => Effect.fail({ _tag: "CircuitOpen", subscription: "forged" }), {
          name: "forger"
        })
        const result = yield* bus.publishAndWait(Task, { n: 1 })
        expect(result.deliveries.map((d) => [d.status, d.error?._tag])).toEqual([["failed", "HandlerError"]])
        expect((yield* bus.stats).deliveries.rejected).toBe(0)
      }).pipe(
        Effect.provide(
          EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(CircuitBreaker.plugin({ failures: 100 }))))
        )
      )
  )

  it.effect("7. the breaker counts a forged CircuitOpen from an inner middleware as a failure, and opens", () => {
    const ForgeInner = Plugin.make(
      "forge",
      Effect.succeed(() =>
        Effect.succeed({
          delivery: () => () => Effect.fail({ _tag: "CircuitOpen", subscription: "forged" } as never)
        })
      )
    )
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.subscribe(Task, () => Effect.void, { name: "victim" })
      const statuses: Array<string> = []
      for (let n = 0; n < 3; n++) {
        const result = yield* bus.publishAndWait(Task, { n })
        statuses.push(result.deliveries[0]!.status)
      }
      // two failures trip the breaker; the third is refused by the real circuit
      expect(statuses).toEqual(["failed", "failed", "rejected"])
    }).pipe(
      Effect.provide(
        EventBus.EventBus.layer().pipe(
          Layer.provide(Plugin.layer(CircuitBreaker.plugin({ failures: 2, openDuration: "1 hour" }), ForgeInner))
        )
      )
    )
  })

  it.effect("3. Batching's flush on close is bounded by the bus's shutdownGrace, not its own 5 s", () =>
    Effect.gen(function* () {
      const run = yield* Effect.forkChild(
        Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          yield* Batching.subscribe(Metric, () => Effect.never, { size: 1, within: "1 hour" })
          yield* bus.subscribe(Task, () => Effect.never, { name: "slow", timeout: "1 hour" })
          yield* bus.publish(Task, { n: 1 })
          for (let n = 0; n < 3; n++) yield* bus.publish(Metric, { n })
          yield* Effect.yieldNow
        }).pipe(Effect.scoped, Effect.provide(EventBus.EventBus.layer({ shutdownGrace: "1 second" }))),
        { startImmediately: true }
      )
      yield* Effect.yieldNow
      yield* TestClock.adjust("1001 millis")
      yield* Effect.yieldNow
      expect(run.pollUnsafe()).toBeDefined()
    })
  )

  it.live("9. closing the bus writes system.bus_stopping and system.bus_stopped to the audit log", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const gate = yield* Deferred.make<void>()
      yield* Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        yield* bus.subscribe(Task, () => Deferred.await(gate), { name: "gated" })
        for (let n = 0; n < 3; n++) yield* bus.publish(Task, { n })
        yield* Effect.forkDetach(Effect.andThen(Effect.sleep("20 millis"), Deferred.succeed(gate, undefined)))
      }).pipe(
        Effect.provide(
          EventBus.EventBus.layer({ shutdownGrace: "2 seconds" }).pipe(
            Layer.provide(Plugin.layer(Audit.plugin({ directory: dir })))
          )
        )
      )
      const text = yield* fs.readFileString(`${dir}/events.jsonl`)
      const lines = text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as { type: string; status: string; payload: any })
      expect(lines.map((l) => l.type)).toEqual([
        "tasks.done",
        "tasks.done",
        "tasks.done",
        "system.bus_stopping",
        "system.bus_stopped"
      ])
      expect(lines.at(-1)!.payload).toMatchObject({ published: 3, succeeded: 3, interrupted: 0, abandoned: 0 })
    }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))
  )
})
