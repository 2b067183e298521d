import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Selector } from "../src/index.ts"
import { Alarm, bus, Task, Tick, withBus, withoutYields } from "./fixtures.ts"

const letter = { "security.alarm": "C", "tasks.done": "N", "telemetry.tick": "L" } as Record<string, string>

/**
 * Pre-fills the lanes with `ticks` LOW, `tasks` NORMAL and `alarms` CRITICAL
 * events in one synchronous stretch, then answers the dispatch order as
 * letters (C, N, L).
 */
const dispatchOrder = (counts: { readonly ticks: number; readonly tasks: number; readonly alarms?: number }) =>
  Effect.gen(function* () {
    const b = yield* bus
    const order: Array<string> = []
    yield* b.subscribe(Selector.pattern("**"), (e) => Effect.sync(() => order.push(letter[e.type]!)))
    yield* withoutYields(
      Effect.gen(function* () {
        for (let n = 0; n < counts.ticks; n++) yield* b.publish(Tick, { n })
        for (let n = 0; n < counts.tasks; n++) yield* b.publish(Task, { n })
        for (let n = 0; n < (counts.alarms ?? 0); n++) yield* b.publish(Alarm, { n })
      })
    )
    yield* b.drain
    return order.join("")
  })

describe("priority", () => {
  it.effect("with lanes pre-filled, CRITICAL goes first, then NORMAL and LOW 4:1", () =>
    Effect.gen(function* () {
      const order = yield* dispatchOrder({ ticks: 10, tasks: 10, alarms: 5 })
      expect(order).toBe("CCCCC" + "NNNNL" + "NNNNL" + "NN" + "LLLLLLLL")
    }).pipe(withBus())
  )

  it.effect("weights are configurable", () =>
    Effect.gen(function* () {
      expect(yield* dispatchOrder({ ticks: 6, tasks: 6 })).toBe("NNLNNLNNLLLL")
    }).pipe(withBus({ weights: { normal: 2, low: 1 } }))
  )

  it.effect("LOW still progresses under constant NORMAL load", () =>
    Effect.gen(function* () {
      const order = yield* dispatchOrder({ ticks: 20, tasks: 1000 })
      // One LOW in every five dispatches while NORMAL is backlogged.
      expect([...order.slice(0, 100)].filter((l) => l === "L").length).toBe(20)
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
