import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { deliveriesLost, publishAllOf, subscribeWithMailbox } from "../src/impls/compat.ts"
import { makeBatchFeeder } from "../src/impls/feeder.ts"
import type { Payload } from "../src/impls/types.ts"

/** A subscribe that accepts a numeric mailbox only, as today's core does, and records what it got. */
const numericCore = (seen: Array<unknown>) => (options: Record<string, unknown>) => {
  seen.push(options.mailbox)
  return typeof options.mailbox === "object"
    ? Effect.fail({ _tag: "InvalidOptions", message: 'Expected number at ["mailbox"]' })
    : Effect.succeed("subscription")
}

describe("compat: new subscribe options on any core", () => {
  it("passes a mailbox strategy through to a core that accepts it", async () => {
    const seen: Array<unknown> = []
    const r = await Effect.runPromise(
      subscribeWithMailbox(
        (o) => {
          seen.push(o.mailbox)
          return Effect.succeed("sub")
        },
        { name: "s" },
        { capacity: 8, strategy: "dropping" }
      )
    )
    expect(r.applied).toBe("strategy")
    expect(seen).toEqual([{ capacity: 8, strategy: "dropping" }])
  })

  it("falls back to the capacity alone on a core whose mailbox is a number, and says so", async () => {
    const seen: Array<unknown> = []
    const r = await Effect.runPromise(
      subscribeWithMailbox(numericCore(seen), { name: "s" }, { capacity: 8, strategy: "dropping" })
    )
    expect(r.applied).toBe("capacity only")
    expect(seen).toEqual([{ capacity: 8, strategy: "dropping" }, 8])
  })

  it("keeps failures that are not about the options", async () => {
    const exit = await Effect.runPromiseExit(
      subscribeWithMailbox(() => Effect.fail({ _tag: "Closed" }), {}, { capacity: 8 })
    )
    expect(exit._tag).toBe("Failure")
  })

  it("sums every per-delivery loss counter the core has", () => {
    expect(deliveriesLost({ overflowed: 3, failed: 9 })).toBe(3)
    expect(deliveriesLost({ overflowed: 1, dropped: 2, evicted: 4 })).toBe(7)
    expect(publishAllOf({})).toBeUndefined()
    expect(publishAllOf({ publishAll: () => Effect.void })).toBeTypeOf("function")
  })
})

describe("batched feeder", () => {
  it("publishes in order, one call per run of the same lane", async () => {
    const calls: Array<[number, Array<number>]> = []
    const feeder = makeBatchFeeder((lane, ps) => Effect.sync(() => void calls.push([lane, ps.map((p) => p.seq)])))
    const p = (seq: number, lane: 0 | 1 | 2): Payload => ({ seq, t: 0, lane })
    feeder.send([p(0, 1), p(1, 1), p(2, 0), p(3, 1)])
    await new Promise((r) => setTimeout(r, 10))
    expect(calls).toEqual([
      [1, [0, 1]],
      [0, [2]],
      [1, [3]]
    ])
    expect(feeder.backlog()).toBe(0)
  })
})
