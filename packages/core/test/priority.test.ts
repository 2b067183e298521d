import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Selector } from "../src/index.ts"
import { Alarm, bus, Task, Tick, withBus, withoutYields } from "./fixtures.ts"

const letter = { "security.alarm": "C", "tasks.done": "N", "telemetry.tick": "L" } as Record<string, string>

describe("priority", () => {
  it.effect("with lanes pre-filled, CRITICAL goes first, then NORMAL and LOW 4:1", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const order: Array<string> = []
      yield* b.subscribe(Selector.pattern("**"), (e) => Effect.sync(() => order.push(letter[e.type]!)))
      yield* withoutYields(
        Effect.gen(function* () {
          for (let n = 0; n < 10; n++) yield* b.publish(Tick, { n })
          for (let n = 0; n < 10; n++) yield* b.publish(Task, { n })
          for (let n = 0; n < 5; n++) yield* b.publish(Alarm, { n })
        })
      )
      yield* b.drain
      expect(order.join("")).toBe("CCCCC" + "NNNNL" + "NNNNL" + "NN" + "LLLLLLLL")
    }).pipe(withBus())
  )

  it.effect("weights are configurable", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const order: Array<string> = []
      yield* b.subscribe(Selector.pattern("**"), (e) => Effect.sync(() => order.push(letter[e.type]!)))
      yield* withoutYields(
        Effect.gen(function* () {
          for (let n = 0; n < 6; n++) yield* b.publish(Tick, { n })
          for (let n = 0; n < 6; n++) yield* b.publish(Task, { n })
        })
      )
      yield* b.drain
      expect(order.join("")).toBe("NNLNNLNNLLLL")
    }).pipe(withBus({ weights: { normal: 2, low: 1 } }))
  )

  it.effect("LOW still progresses under constant NORMAL load", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const order: Array<string> = []
      yield* b.subscribe(Selector.pattern("**"), (e) => Effect.sync(() => order.push(letter[e.type]!)))
      yield* withoutYields(
        Effect.gen(function* () {
          for (let n = 0; n < 20; n++) yield* b.publish(Tick, { n })
          for (let n = 0; n < 1000; n++) yield* b.publish(Task, { n })
        })
      )
      yield* b.drain
      // One LOW in every five dispatches while NORMAL is backlogged.
      const firstHundred = order.slice(0, 100)
      expect(firstHundred.filter((l) => l === "L").length).toBe(20)
      expect(order.length).toBe(1020)
    }).pipe(withBus())
  )

  it.effect("the publish options can raise an event's priority", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const order: Array<number> = []
      yield* b.subscribe(Task, (e) => Effect.sync(() => order.push(e.payload.n)))
      yield* withoutYields(
        Effect.gen(function* () {
          yield* b.publish(Task, { n: 1 })
          const r = yield* b.publish(Task, { n: 2 }, { priority: "critical" })
          expect(r.lane).toBe("critical")
        })
      )
      yield* b.drain
      expect(order).toEqual([2, 1])
    }).pipe(withBus())
  )
})
