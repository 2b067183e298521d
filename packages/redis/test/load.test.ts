import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Redis } from "effect/persistence/Redis"
import { field } from "../src/internal/redis.ts"
import {
  definitions,
  OrderPlaced,
  pendingCount,
  publisher,
  skip,
  startNode,
  waitUntil,
  withPrefix
} from "./fixtures.ts"

const N = 10_000
const DUPLICATES = 500

/**
 * Two consumers of one group; 10k events, then 500 of them appended again
 * (what a publisher retrying after a lost reply does). Counts per event id.
 */
const run = (dedup: boolean) =>
  withPrefix(
    (prefix) =>
      Effect.gen(function* () {
        const redis = yield* Redis
        const stream = `${prefix}:orders.placed`
        const counts = new Map<string, number>()
        let handled = 0
        const nodes = yield* Effect.forEach([0, 1], (i) =>
          startNode(
            {
              definitions,
              prefix,
              group: "billing",
              consumer: `c${i}`,
              block: "200 millis",
              ...(dedup ? { dedup: { window: "1 minute" } } : {})
            },
            (bus) =>
              Effect.asVoid(
                bus.subscribe(OrderPlaced, (e) =>
                  Effect.sync(() => {
                    handled++
                    counts.set(e.id, (counts.get(e.id) ?? 0) + 1)
                  })
                )
              )
          )
        )
        const pub = yield* publisher({ definitions, prefix })
        yield* Effect.forEach(
          Array.from({ length: N }, (_, i) => i),
          (i) => pub.publish(OrderPlaced, { orderId: `o-${i}`, total: i }),
          { concurrency: 256, discard: true }
        )
        const first = yield* redis.send<Array<[string, Array<string>]>>(
          "XRANGE",
          stream,
          "-",
          "+",
          "COUNT",
          String(DUPLICATES)
        )
        yield* Effect.forEach(first, ([, fields]) => redis.send("XADD", stream, "*", "e", field(fields, "e")!), {
          concurrency: 64,
          discard: true
        })
        yield* waitUntil(Effect.sync(() => counts.size === N && handled >= (dedup ? N : N + DUPLICATES)))
        yield* waitUntil(Effect.map(pendingCount(stream, "billing"), (n) => n === 0))
        const stats = yield* Effect.forEach(nodes, (n) => n.transport.stats)
        return { counts, handled, stats }
      }),
    "25 seconds"
  )

describe.skipIf(skip)("RedisTransport under load", () => {
  it.live("10k events through two consumers: each handled at least once", () =>
    Effect.gen(function* () {
      const { counts, handled } = yield* run(false)
      expect(counts.size).toBe(N)
      expect([...counts.values()].every((n) => n >= 1)).toBe(true)
      expect(handled).toBe(N + DUPLICATES) // the duplicates do go through without dedup
    })
  )

  it.live("with the Redis dedup lease: each handled exactly once, duplicates suppressed across consumers", () =>
    Effect.gen(function* () {
      const { counts, handled, stats } = yield* run(true)
      expect(counts.size).toBe(N)
      expect([...counts.values()].every((n) => n === 1)).toBe(true)
      expect(handled).toBe(N)
      expect(stats[0]!.deduplicated + stats[1]!.deduplicated).toBe(DUPLICATES)
      expect(stats[0]!.received > 0 && stats[1]!.received > 0).toBe(true)
    })
  )
})
