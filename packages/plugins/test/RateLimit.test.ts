import { randomUUID } from "node:crypto"
import { connect } from "node:net"
import { NodeRedis } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { Cause, Effect, Layer, Schema } from "effect"
import type { RateLimiter } from "effect/persistence"
import { TestClock } from "effect/testing"
import { RateLimit } from "../src/index.ts"

const Order = Event.define("orders.placed", { payload: Schema.Struct({ tenant: Schema.String, n: Schema.Number }) })
const Task = Event.define("tasks.done", { payload: Schema.Struct({ n: Schema.Number }) })

const busWith = (
  limit: RateLimit.RateLimitPlugin,
  limiter: Layer.Layer<RateLimiter.RateLimiter, unknown> = RateLimit.layerMemory
) => EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(limit)), Layer.provide(limiter))

/** Lets woken fibers run after a clock step. */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

describe("RateLimit", () => {
  it.effect("delay: past the limit, deliveries wait for the next window; nothing is lost; delays are counted", () => {
    const limit = RateLimit.plugin({ limit: 2, window: "1 second" })
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const seen: Array<number> = []
      yield* bus.subscribe(Task, (e) => Effect.sync(() => seen.push(e.payload.n)), { name: "worker", concurrency: 5 })
      for (let n = 0; n < 5; n++) yield* bus.publish(Task, { n })
      yield* settle
      expect(seen).toHaveLength(2)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(seen).toHaveLength(4)
      yield* TestClock.adjust("1 second")
      yield* bus.drain
      expect(seen.sort()).toEqual([0, 1, 2, 3, 4])
      expect(yield* limit.stats).toMatchObject({ checked: 5, delayed: 3, refused: 0 })
      expect((yield* bus.stats).deliveries).toMatchObject({ succeeded: 5, failed: 0 })
    }).pipe(Effect.provide(busWith(limit)))
  })

  it.effect(
    "fail: past the limit a delivery fails with HandlerError caused by RateLimitExceeded, counted refused",
    () => {
      const limit = RateLimit.plugin({ limit: 2, window: "1 minute", onExceeded: "fail" })
      return Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        yield* bus.subscribe(Task, () => Effect.void, { name: "worker" })
        const results = []
        for (let n = 0; n < 3; n++) results.push(yield* bus.publishAndWait(Task, { n }))
        expect(results.map((r) => r.succeeded)).toEqual([1, 1, 0])
        const error = results[2]!.deliveries[0]!.error!
        expect(error._tag).toBe("HandlerError")
        const reason = error._tag === "HandlerError" ? Cause.squash(error.cause) : undefined
        expect(reason).toMatchObject({ _tag: "RateLimitExceeded", limit: 2 })
        expect(yield* limit.stats).toMatchObject({ checked: 3, refused: 1 })
        // the next window admits again
        yield* TestClock.adjust("1 minute")
        expect((yield* bus.publishAndWait(Task, { n: 4 })).succeeded).toBe(1)
      }).pipe(Effect.provide(busWith(limit)))
    }
  )

  it.effect("per key: each tenant has its own limit", () => {
    const limit = RateLimit.plugin(
      { limit: 1, window: "1 minute", per: "key", onExceeded: "fail" },
      { key: (e) => e.payload.tenant }
    )
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const seen: Array<string> = []
      yield* bus.subscribe(Order, (e) => Effect.sync(() => seen.push(`${e.payload.tenant}${e.payload.n}`)))
      for (const [tenant, n] of [
        ["a", 1],
        ["a", 2],
        ["b", 1]
      ] as const)
        yield* bus.publish(Order, { tenant, n })
      yield* bus.drain
      expect(seen).toEqual(["a1", "b1"])
      expect(yield* limit.stats).toMatchObject({ checked: 3, refused: 1 })
    }).pipe(Effect.provide(busWith(limit)))
  })

  it.effect("per type, only for the listed types: other events pass untouched and uncounted", () => {
    const limit = RateLimit.plugin({
      limit: 1,
      window: "1 minute",
      per: "type",
      types: ["orders.*"],
      onExceeded: "fail"
    })
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.subscribe([Order, Task], () => Effect.void, { name: "all" })
      yield* bus.subscribe(Order, () => Effect.void, { name: "orders" })
      yield* bus.publish(Order, { tenant: "a", n: 1 }) // two deliveries of one type: the second is over the limit
      for (let n = 0; n < 5; n++) yield* bus.publish(Task, { n })
      yield* bus.drain
      const s = yield* bus.stats
      expect(s.deliveries).toMatchObject({ succeeded: 6, failed: 1 })
      expect(yield* limit.stats).toMatchObject({ checked: 2, refused: 1 })
    }).pipe(Effect.provide(busWith(limit)))
  })

  it.effect("per subscription, only for the listed subscriptions", () => {
    const limit = RateLimit.plugin({ limit: 1, window: "1 minute", subscriptions: ["limited"], onExceeded: "fail" })
    return Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      yield* bus.subscribe(Task, () => Effect.void, { name: "limited" })
      yield* bus.subscribe(Task, () => Effect.void, { name: "free" })
      for (let n = 0; n < 3; n++) yield* bus.publish(Task, { n })
      yield* bus.drain
      const subs = (yield* bus.stats).subscriptions
      expect(subs.find((s) => s.name === "limited")).toMatchObject({ succeeded: 1, failed: 2 })
      expect(subs.find((s) => s.name === "free")).toMatchObject({ succeeded: 3, failed: 0 })
    }).pipe(Effect.provide(busWith(limit)))
  })

  it.effect("a bad config value fails the layer with InvalidOptions naming the path", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(
          EventBus.EventBus.layer().pipe(
            Layer.provide(Plugin.layer(RateLimit.plugin({ limit: 0, window: "1 second", per: "tenant" as never }))),
            Layer.provide(RateLimit.layerMemory)
          )
        )
      )
      expect(error._tag).toBe("InvalidOptions")
      expect(error.message).toContain(`["limit"]`)
      expect(error.message).toContain(`["per"]`)
    })
  )
})

const REDIS = { host: "127.0.0.1", port: 6379 }
const redisUp = await new Promise<boolean>((resolve) => {
  const socket = connect(REDIS, () => {
    socket.end()
    resolve(true)
  })
  socket.on("error", () => resolve(false))
})
if (!redisUp && process.env.CI !== "true") console.log("RateLimit Redis store: no Redis on 127.0.0.1:6379, skipped")

describe.runIf(redisUp || process.env.CI === "true")("RateLimit over the Redis store", () => {
  it.live("two buses share one limit through Redis", () => {
    const prefix = `eftest:ratelimit:${randomUUID().slice(0, 8)}:`
    const Limiter = RateLimit.layerRedis({ prefix }).pipe(
      Layer.provide(NodeRedis.layer({ url: `redis://${REDIS.host}:${REDIS.port}` }))
    )
    const config = { limit: 3, window: "1 minute", onExceeded: "fail", per: "type" } as const
    const run = (limit: RateLimit.RateLimitPlugin) =>
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        yield* bus.subscribe(Task, () => Effect.void)
        for (let n = 0; n < 2; n++) yield* bus.publishAndWait(Task, { n })
        return (yield* bus.stats).deliveries.succeeded
      }).pipe(Effect.scoped, Effect.provide(busWith(limit, Limiter)))
    const a = RateLimit.plugin(config)
    const b = RateLimit.plugin(config)
    return Effect.gen(function* () {
      const succeeded = (yield* run(a)) + (yield* run(b))
      expect(succeeded).toBe(3)
      expect((yield* a.stats).refused + (yield* b.stats).refused).toBe(1)
    })
  })
})
