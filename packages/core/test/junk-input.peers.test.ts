import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { EventBus, Facade } from "../src/index.ts"
import { OrderPlaced, Task } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

describe("junk at the peers' entry points", () => {
  it.effect(
    "any delay / at value: the event is scheduled and released, or refused with a typed error — never a defect",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(
              fc.record({
                delay: fc.option(fc.anything(), { nil: undefined }),
                at: fc.option(fc.anything(), { nil: undefined })
              }),
              {
                maxLength: 8
              }
            ),
            async (inputs) => {
              const program = Effect.gen(function* () {
                const bus = yield* EventBus.EventBus
                let held = 0
                for (const input of inputs) {
                  const exit = yield* Effect.exit(bus.publish(Task, { n: 1 }, input as never))
                  if (Exit.isSuccess(exit)) {
                    if (exit.value.status === "scheduled") held++
                  } else {
                    // typed failures only: Exit.Failure with a Fail reason
                    expect(exit.cause.reasons.every((r) => r._tag === "Fail")).toBe(true)
                  }
                }
                const s = yield* bus.stats
                expect(s.scheduled.total).toBe(held)
                expect(s.scheduled.total).toBe(s.scheduled.released + s.scheduled.cancelled + s.scheduled.pending)
                expectBalanced(s, false)
              }).pipe(Effect.scoped, Effect.provide(EventBus.EventBus.layer()), Effect.provide(TestClock.layer()))
              await Effect.runPromise(program)
            }
          ),
          { numRuns: 60 }
        )
      )
  )

  it.effect("emit by name with any name and payload never throws; every emit is counted", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.tuple(
              fc.oneof(fc.constantFrom("orders.placed", "tasks.done"), fc.string()),
              fc.oneof(
                fc.anything(),
                fc.record({ orderId: fc.string(), total: fc.double() }),
                fc.record({ n: fc.double() })
              )
            ),
            { maxLength: 12 }
          ),
          async (emits) => {
            const errors: Array<string> = []
            const bus = await Facade.make(EventBus.EventBus.layer(), {
              registry: [OrderPlaced, Task],
              onError: (e) => errors.push(e._tag)
            })
            for (const [name, payload] of emits) expect(() => bus.emit(name, payload)).not.toThrow()
            await bus.drain()
            const s = bus.stats()
            expect(s.facade.emitted).toBe(emits.length)
            expect(s.facade.emitted).toBe(
              s.published + s.refused + s.facade.overflowed + s.facade.pending + s.facade.invalid
            )
            expect(errors.every((tag) => tag === "InvalidEvent")).toBe(true)
            expect(errors.length).toBe(s.facade.invalid)
            await bus.close()
          }
        ),
        { numRuns: 60 }
      )
    )
  )
})
