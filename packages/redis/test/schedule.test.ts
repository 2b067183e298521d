import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Redis } from "effect/persistence/Redis"
import { RedisTransport } from "../src/index.ts"
import * as RedisSchedule from "../src/RedisSchedule.ts"
import { definitions, OrderPlaced, startNode, waitUntil, withPrefix } from "./fixtures.ts"

const fast = { block: "200 millis", claimInterval: "200 millis" } as const

/** One "process" that schedules: a publisher-only transport and the schedule's poller. */
const scheduler = (prefix: string) =>
  RedisSchedule.layer({ prefix, definitions, pollInterval: "50 millis" }).pipe(
    Layer.provide(RedisTransport.RedisTransport.layer({ definitions, prefix }))
  )

describe("RedisSchedule", () => {
  it.live("a scheduled event survives its scheduler: another process moves it to the stream when due", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const seen: Array<{ id: string; orderId: string }> = []
        yield* startNode({ definitions, prefix, group: "billing", ...fast }, (bus) =>
          Effect.asVoid(
            bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push({ id: e.id, orderId: e.payload.orderId })))
          )
        )
        // process 1 schedules, then stops before the event is due
        const { id } = yield* Effect.gen(function* () {
          const schedule = yield* RedisSchedule.RedisSchedule
          return yield* schedule.schedule(OrderPlaced, { orderId: "o-1", total: 1 }, { delay: "400 millis" })
        }).pipe(Effect.provide(scheduler(prefix)))
        const redis = yield* Redis
        expect(yield* redis.send<number>("ZCARD", `${prefix}:schedule`)).toBe(1)
        // process 2 starts later and moves it
        yield* Effect.gen(function* () {
          const schedule = yield* RedisSchedule.RedisSchedule
          yield* waitUntil(Effect.sync(() => seen.length === 1))
          expect(seen).toEqual([{ id, orderId: "o-1" }])
          expect(yield* schedule.pending).toBe(0)
          expect((yield* schedule.stats).moved).toBe(1)
        }).pipe(Effect.provide(scheduler(prefix)))
      })
    )
  )

  it.live("two pollers never move the same entry twice", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const seen: Array<string> = []
        yield* startNode({ definitions, prefix, group: "billing", ...fast }, (bus) =>
          Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId))))
        )
        const a = yield* Layer.build(scheduler(prefix))
        const b = yield* Layer.build(scheduler(prefix))
        const schedule = yield* Effect.provide(RedisSchedule.RedisSchedule, a)
        for (let n = 0; n < 20; n++)
          yield* schedule.schedule(OrderPlaced, { orderId: `o-${n}`, total: n }, { delay: 100 })
        yield* waitUntil(Effect.sync(() => seen.length >= 20))
        yield* Effect.sleep("300 millis") // room for a duplicate to show up
        expect(seen.sort()).toEqual(Array.from({ length: 20 }, (_, n) => `o-${n}`).sort())
        const sa = yield* Effect.provide(RedisSchedule.RedisSchedule, a).pipe(Effect.flatMap((s) => s.stats))
        const sb = yield* Effect.provide(RedisSchedule.RedisSchedule, b).pipe(Effect.flatMap((s) => s.stats))
        expect(sa.moved + sb.moved).toBe(20)
      })
    )
  )

  it.live("a bad delay is refused with InvalidEvent and nothing is held", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const schedule = yield* RedisSchedule.RedisSchedule
        const bad = yield* Effect.flip(
          schedule.schedule(OrderPlaced, { orderId: "o", total: 1 }, { delay: "later" as never })
        )
        expect(bad._tag).toBe("InvalidEvent")
        expect(yield* schedule.pending).toBe(0)
      }).pipe(Effect.provide(scheduler(prefix)))
    )
  )
})
