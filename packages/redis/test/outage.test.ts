import { describe, expect, it } from "@effect/vitest"
import { EventBus } from "@eventfabric/core"
import { Effect, Layer, Schedule } from "effect"
import { RedisConnection, RedisDeadLetterStore, RedisTransport } from "../src/index.ts"
import { definitions, OrderPlaced, pendingCount, proxy, skip, waitUntil, withPrefix } from "./fixtures.ts"

describe.skipIf(skip)("RedisTransport with Redis going away", () => {
  it.live("publish fails with RedisUnavailable while Redis is down; the consumer reconnects and nothing is lost", () =>
    withPrefix(
      (prefix) =>
        Effect.gen(function* () {
          const p = yield* proxy
          const seen = new Set<string>()
          const context = yield* Layer.build(
            Layer.mergeAll(
              EventBus.EventBus.layer(),
              RedisTransport.RedisTransport.layer({
                definitions,
                prefix,
                group: "billing",
                block: "200 millis",
                publishTimeout: "1 second",
                reconnect: { base: "50 millis", max: "300 millis" }
              }),
              RedisDeadLetterStore.layer({ prefix: `${prefix}:dlq` })
            ).pipe(Layer.provide(RedisConnection.layer({ url: `redis://127.0.0.1:${p.port()}` })))
          )
          const transport = yield* Effect.gen(function* () {
            const bus = yield* EventBus.EventBus
            yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.add(e.id)))
            const transport = yield* RedisTransport.RedisTransport
            yield* transport.start
            return transport
          }).pipe(Effect.provide(context))

          const before = yield* transport.publish(OrderPlaced, { orderId: "before", total: 1 })
          yield* waitUntil(Effect.sync(() => seen.has(before.id)))

          yield* Effect.promise(p.cut)
          const error = yield* Effect.flip(transport.publish(OrderPlaced, { orderId: "during", total: 2 }))
          expect(error._tag).toBe("RedisUnavailable")

          yield* Effect.sleep("300 millis")
          yield* Effect.promise(p.restore)
          // The shared client reconnects with backoff; retry until it is back.
          const after = yield* transport.publish(OrderPlaced, { orderId: "after", total: 3 }).pipe(
            Effect.retry({ times: 50, schedule: Schedule.spaced("100 millis") }),
            Effect.catchTag("RedisUnavailable", (e) => Effect.die(e))
          )
          yield* waitUntil(Effect.sync(() => seen.has(after.id)))
          yield* waitUntil(Effect.map(pendingCount(`${prefix}:orders.placed`, "billing"), (n) => n === 0))
          expect(seen.size).toBe(2)
          expect((yield* transport.stats).reconnects).toBeGreaterThan(0)
        }),
      "20 seconds"
    )
  )
})
