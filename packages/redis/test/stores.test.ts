import { describe, expect, it } from "@effect/vitest"
import type { DeadLetterStore, DedupStore } from "@eventfabric/plugins"
import { Effect, Option } from "effect"
import { RedisDeadLetterStore, RedisDedupStore } from "../src/index.ts"
import { skip, withPrefix } from "./fixtures.ts"

const entry = (
  id: string,
  reason: DeadLetterStore.Reason,
  type = "orders.placed",
  at = 1_000
): DeadLetterStore.Entry => ({
  id,
  envelope: { id: `e-${id}`, type, payload: { n: id }, priority: "normal", publishedAt: at, attempt: 1 },
  subscription: "mailer",
  reason,
  cause: "boom",
  attempts: 1,
  firstFailureAt: at,
  lastFailureAt: at
})

describe.skipIf(skip)("Redis stores", () => {
  it.live("RedisDedupStore: a key claimed by one process is a repeat for another, until the window ends", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        // Two store instances stand for two processes sharing Redis.
        const a: DedupStore.DedupStore["Service"] = yield* RedisDedupStore.make({ prefix })
        const b: DedupStore.DedupStore["Service"] = yield* RedisDedupStore.make({ prefix })
        expect(yield* a.claim("orders.placed:o-1", "200 millis")).toBe(true)
        expect(yield* b.claim("orders.placed:o-1", "200 millis")).toBe(false)
        expect(yield* b.claim("orders.placed:o-2", "200 millis")).toBe(true)
        expect(yield* a.size).toBe(2)
        yield* Effect.sleep("300 millis")
        expect(yield* b.claim("orders.placed:o-1", "200 millis")).toBe(true)
      })
    )
  )

  it.live("RedisDeadLetterStore: put, get, list by filter, remove, purge, bounded with evictions counted", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const store = yield* RedisDeadLetterStore.make({ prefix, capacity: 3 })
        yield* store.put(entry("1", "HandlerError"))
        yield* store.put(entry("2", "DecodeFailed", "orders.shipped", 2_000))
        yield* store.put(entry("3", "HandlerTimeout", "orders.placed", 3_000))
        yield* store.put(entry("3", "HandlerTimeout", "orders.placed", 3_000)) // same id: replaced, not added
        expect((yield* store.list()).map((e) => e.id)).toEqual(["1", "2", "3"])
        yield* store.put(entry("4", "HandlerError", "orders.placed", 4_000)) // evicts "1"
        expect(yield* store.stats).toEqual({ size: 3, capacity: 3, evicted: 1 })
        expect(Option.isNone(yield* store.get("1"))).toBe(true)
        expect(Option.getOrThrow(yield* store.get("2"))).toEqual(entry("2", "DecodeFailed", "orders.shipped", 2_000))
        expect((yield* store.list({ reason: "HandlerError" })).map((e) => e.id)).toEqual(["4"])
        expect((yield* store.list({ type: "orders.placed" })).map((e) => e.id)).toEqual(["3", "4"])
        expect((yield* store.list({ before: 3_500, limit: 1 })).map((e) => e.id)).toEqual(["2"])
        expect(yield* store.remove("2")).toBe(true)
        expect(yield* store.remove("2")).toBe(false)
        expect(yield* store.purge({ reason: "HandlerTimeout" })).toBe(1)
        expect(yield* store.purge()).toBe(1)
        expect((yield* store.stats).size).toBe(0)
      })
    )
  )

  it.live("RedisDeadLetterStore rejects a bad capacity with the path", () =>
    withPrefix(() =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(RedisDeadLetterStore.make({ capacity: 0 }))
        expect(error.message).toContain(`["capacity"]`)
      })
    )
  )
})
