import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fc from "fast-check"
import type { EventBus } from "../src/index.ts"
import { bus, Task, withBus } from "./fixtures.ts"

const subscribeError = (options: unknown) =>
  Effect.gen(function* () {
    const b = yield* bus
    return yield* Effect.flip(b.subscribe(Task, () => Effect.void, options as EventBus.SubscribeOptions))
  })

describe("subscribe options (mailbox, orderBy) decoded by Schema", () => {
  it.effect("a bad mailbox strategy, capacity or orderBy fails with InvalidOptions naming the path", () =>
    Effect.gen(function* () {
      const strategy = yield* subscribeError({ mailbox: { capacity: 4, strategy: "drop-oldest" } })
      expect(strategy._tag).toBe("InvalidOptions")
      expect(strategy.message).toContain(`at ["mailbox"]["strategy"]`)
      const capacity = yield* subscribeError({ mailbox: { capacity: 0 } })
      expect(capacity.message).toContain(`at ["mailbox"]["capacity"]`)
      const huge = yield* subscribeError({ mailbox: 2 ** 32 })
      expect(huge.message).toContain(`["mailbox"]`)
      const orderBy = yield* subscribeError({ orderBy: "orderId" })
      expect(orderBy.message).toContain(`at ["orderBy"]`)
      expect(orderBy.message).toContain("a function")
      const filter = yield* subscribeError({ filter: true })
      expect(filter.message).toContain(`at ["filter"]`)
    }).pipe(withBus())
  )

  it.effect("a mailbox as a number, or as capacity and strategy, is accepted", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const one = yield* b.subscribe(Task, () => Effect.void, { mailbox: 8 })
      const two = yield* b.subscribe(Task, () => Effect.void, { mailbox: { strategy: "dropping" } })
      const three = yield* b.subscribe(Task, () => Effect.void, { mailbox: { capacity: 3, strategy: "sliding" } })
      expect((yield* one.stats).mailbox).toBe(8)
      expect((yield* two.stats).mailbox).toBe(1024)
      expect((yield* three.stats).mailbox).toBe(3)
    }).pipe(withBus())
  )

  it("junk subscribe options always fail typed, never die", () =>
    fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            mailbox: fc.oneof(fc.anything(), fc.record({ capacity: fc.anything(), strategy: fc.anything() })),
            orderBy: fc.anything(),
            concurrency: fc.anything()
          },
          { requiredKeys: [] }
        ),
        (options) =>
          Effect.gen(function* () {
            const b = yield* bus
            const exit = yield* Effect.exit(b.subscribe(Task, () => Effect.void, options as EventBus.SubscribeOptions))
            if (exit._tag === "Failure") {
              expect(exit.cause.reasons.every((r) => r._tag === "Fail" && r.error._tag === "InvalidOptions")).toBe(true)
            }
          }).pipe(Effect.scoped, withBus(), Effect.runPromise)
      ),
      { numRuns: 200 }
    ))
})
