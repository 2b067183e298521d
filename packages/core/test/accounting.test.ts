import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import { EventBus, type Options } from "../src/index.ts"
import { Alarm, Task, Tick } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

const lane = <S extends Options.Strategy>(strategies: ReadonlyArray<S>) =>
  fc.record({ capacity: fc.integer({ min: 1, max: 16 }), strategy: fc.constantFrom(...strategies) })

const behaviours = ["ok", "fail", "die", "async", "slowAsync"] as const
type Behaviour = (typeof behaviours)[number]

const handlerFor = (b: Behaviour) => () => {
  switch (b) {
    case "ok":
      return Effect.void
    case "fail":
      return Effect.fail("nope")
    case "die":
      return Effect.die("defect")
    case "async":
      return Effect.yieldNow
    case "slowAsync":
      return Effect.andThen(Effect.yieldNow, Effect.yieldNow)
  }
}

const scenario = fc.record({
  lanes: fc.record({
    critical: lane(["suspend", "fail"]),
    normal: lane(["suspend", "dropping", "sliding", "fail"]),
    low: lane(["suspend", "dropping", "sliding", "fail"])
  }),
  maxConcurrentHandlers: fc.integer({ min: 1, max: 8 }),
  subscriptions: fc.array(
    fc.record({
      behaviour: fc.constantFrom(...behaviours),
      concurrency: fc.integer({ min: 1, max: 4 }),
      mailbox: fc.oneof(
        fc.integer({ min: 1, max: 32 }),
        fc.record(
          {
            capacity: fc.integer({ min: 1, max: 8 }),
            strategy: fc.constantFrom("suspend", "dropping", "sliding", "fail")
          },
          { requiredKeys: [] }
        )
      ),
      keyed: fc.boolean(),
      selector: fc.constantFrom("task", "tick", "alarm", "all")
    }),
    { maxLength: 4 }
  ),
  events: fc.array(fc.constantFrom("task", "tick", "alarm"), { maxLength: 200 }),
  /** Publish each batch with `publishAll` (grouped by type) rather than one by one. */
  batched: fc.boolean(),
  batches: fc.integer({ min: 1, max: 4 })
})

describe("accounting", () => {
  it("after drain, every publish is in exactly one counted state and the sums add up, over lane and mailbox strategies, keyed subscriptions, batches, and handlers that complete at once or suspend", () =>
    fc.assert(
      fc.asyncProperty(scenario, (s) =>
        Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          const defs = { task: Task, tick: Tick, alarm: Alarm }
          for (const sub of s.subscriptions) {
            const selector = sub.selector === "all" ? [Task, Tick, Alarm] : defs[sub.selector]
            yield* bus.subscribe(selector, handlerFor(sub.behaviour), {
              concurrency: sub.concurrency,
              mailbox: sub.mailbox,
              ...(sub.keyed ? { orderBy: (e: { readonly payload: { readonly n: number } }) => e.payload.n % 3 } : {})
            })
          }
          const size = Math.ceil(s.events.length / s.batches)
          for (let i = 0; i < s.events.length; i += size) {
            const batch = s.events.slice(i, i + size)
            if (s.batched) {
              for (const type of ["task", "tick", "alarm"] as const) {
                const payloads = batch.flatMap((e, j) => (e === type ? [{ n: i + j }] : []))
                yield* Effect.ignore(bus.publishAll(defs[type], payloads))
              }
            } else {
              yield* Effect.forEach(batch, (e, j) => Effect.ignore(bus.publish(defs[e], { n: i + j })), {
                concurrency: 4
              })
            }
            yield* Effect.yieldNow
          }
          yield* bus.drain
          expectBalanced(yield* bus.stats)
        }).pipe(
          Effect.scoped,
          Effect.provide(EventBus.EventBus.layer({ lanes: s.lanes, maxConcurrentHandlers: s.maxConcurrentHandlers })),
          Effect.runPromise
        )
      ),
      { numRuns: 200 }
    ))
})
