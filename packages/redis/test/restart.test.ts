import { describe, expect, it } from "@effect/vitest"
import { Envelope, EventBus } from "@eventfabric/core"
import { Transport } from "@eventfabric/transport"
import { Effect, Fiber, Layer, Schedule, type Scope } from "effect"
import { Redis } from "effect/persistence/Redis"
import { RedisConnection, RedisDeadLetterStore, RedisTransport, type TransportOptions } from "../src/index.ts"
import { definitions, OrderPlaced, skip, waitUntil } from "./fixtures.ts"
import { type RedisServer, redisBinary, startRedis } from "./server.ts"

const binary = redisBinary()

const server = (args?: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.promise(() => startRedis(binary!, args)),
    (s) => Effect.promise(() => s.dispose())
  )

/** A consuming node on `s`, its connection reconnecting fast. */
const node = Effect.fnUntraced(function* (
  s: RedisServer,
  options: Partial<TransportOptions.TransportOptions>,
  setup: (bus: EventBus.EventBus["Service"]) => Effect.Effect<void, unknown, Redis | Scope.Scope>
) {
  const context = yield* Layer.build(
    Layer.mergeAll(
      EventBus.EventBus.layer(),
      RedisTransport.RedisTransport.layer({
        definitions,
        prefix: "restart",
        group: "billing",
        block: "100 millis",
        claimIdle: "500 millis",
        claimInterval: "100 millis",
        reconnect: { base: "20 millis", max: "200 millis" },
        ...options
      }),
      RedisDeadLetterStore.layer({ prefix: "restart:dlq" })
    ).pipe(Layer.provideMerge(RedisConnection.layer({ url: s.url })))
  )
  return yield* Effect.gen(function* () {
    yield* setup(yield* EventBus.EventBus)
    const transport = yield* RedisTransport.RedisTransport
    yield* transport.start
    return { transport, redis: yield* Redis }
  }).pipe(Effect.provide(context))
})

const publishRetrying = (
  transport: RedisTransport.RedisTransport["Service"],
  from: number,
  n: number,
  acked: Set<string>
) =>
  Effect.forEach(
    Array.from({ length: n }, (_, i) => from + i),
    (i) => {
      // A retry keeps the envelope id: an append whose reply was lost and the
      // retried one are then one event to the consumer's dedup lease.
      const id = Envelope.makeId(Date.now())
      return transport.publish(OrderPlaced, { orderId: `o-${i}`, total: i }, { id }).pipe(
        Effect.retry({ times: 200, schedule: Schedule.spaced("25 millis") }),
        Effect.map((p) => acked.add(p.id))
      )
    },
    { concurrency: 32, discard: true }
  )

describe.skipIf(skip || binary === undefined)("RedisTransport across a Redis restart", () => {
  it.live("without persistence: the loss is reported as a DataLost event and counted, and consuming goes on", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const losses: Array<typeof Transport.DataLost.payload.Type> = []
      const seen = new Set<string>()
      const n = yield* node(s, {}, (bus) =>
        Effect.gen(function* () {
          yield* bus.subscribe(Transport.DataLost, (e) => Effect.sync(() => losses.push(e.payload)))
          yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.add(e.id)))
        })
      )
      const acked = new Set<string>()
      yield* publishRetrying(n.transport, 0, 200, acked)
      yield* waitUntil(Effect.sync(() => seen.size === 200))
      yield* Effect.promise(() => s.stop("SIGKILL"))
      yield* Effect.promise(() => s.start())
      yield* waitUntil(Effect.sync(() => losses.length > 0))
      expect(["StreamMissing", "GroupMissing", "ServerRestarted"]).toContain(losses[0]!.reason)
      expect(losses[0]!.engine).toBe("redis")
      expect((yield* n.transport.stats).dataLost).toBeGreaterThanOrEqual(1)
      // After the report the group is made again: what is published now is consumed.
      yield* publishRetrying(n.transport, 200, 50, acked)
      yield* waitUntil(Effect.sync(() => [...acked].every((id) => seen.has(id))))
    }).pipe(Effect.timeout("20 seconds"), Effect.scoped)
  )

  it.live("with RDB snapshots only: a restart that kept the stream and group is still reported (ServerRestarted)", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const losses: Array<typeof Transport.DataLost.payload.Type> = []
      const seen = new Set<string>()
      const n = yield* node(s, {}, (bus) =>
        Effect.gen(function* () {
          yield* bus.subscribe(Transport.DataLost, (e) => Effect.sync(() => losses.push(e.payload)))
          yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.add(e.id)))
        })
      )
      const acked = new Set<string>()
      yield* publishRetrying(n.transport, 0, 50, acked)
      yield* n.redis.send("SAVE") // the snapshot a restart loads: stream and group kept
      yield* Effect.promise(() => s.stop("SIGKILL"))
      yield* Effect.promise(() => s.start())
      yield* waitUntil(Effect.sync(() => losses.length > 0))
      expect(losses.map((l) => l.reason)).toEqual(["ServerRestarted"])
      yield* publishRetrying(n.transport, 50, 10, acked)
      yield* waitUntil(Effect.sync(() => [...acked].every((id) => seen.has(id))))
    }).pipe(Effect.timeout("20 seconds"), Effect.scoped)
  )

  it.live(
    "with AOF (appendfsync always): a crash loses no acknowledged publish; redeliveries are duplicates, handled once by an idempotent effect keyed by the envelope id",
    () =>
      Effect.gen(function* () {
        const s = yield* server(["--appendonly", "yes", "--appendfsync", "always"])
        const losses: Array<unknown> = []
        let invocations = 0
        const n = yield* node(s, { dedup: { window: "1 minute" } }, (bus) =>
          Effect.gen(function* () {
            const redis = yield* Redis
            yield* bus.subscribe(Transport.DataLost, (e) => Effect.sync(() => losses.push(e.payload)))
            // The recipe: at least once + an effect made idempotent by the envelope id (stable across redeliveries).
            yield* bus.subscribe(
              OrderPlaced,
              (e) =>
                Effect.andThen(
                  Effect.sync(() => invocations++),
                  Effect.asVoid(redis.send("SET", `restart:effect:${e.id}`, "1", "NX"))
                ),
              { concurrency: 16 }
            )
          })
        )
        const acked = new Set<string>()
        const publishing = yield* Effect.forkChild(publishRetrying(n.transport, 0, 2000, acked))
        yield* waitUntil(Effect.sync(() => acked.size >= 500))
        yield* Effect.promise(() => s.stop("SIGKILL"))
        yield* Effect.promise(() => s.start())
        yield* Fiber.join(publishing)
        const effects = () =>
          Effect.map(n.redis.send<Array<string>>("KEYS", "restart:effect:*"), (keys) => new Set(keys.map(String)))
        yield* waitUntil(Effect.map(effects(), (done) => [...acked].every((id) => done.has(`restart:effect:${id}`))))
        expect(acked.size).toBe(2000)
        expect(losses).toEqual([]) // AOF on: nothing to report
        expect(invocations).toBeGreaterThanOrEqual(2000)
        console.log(
          `AOF restart: ${invocations - 2000} handler invocations beyond 2000 (redeliveries), each effect applied once`
        )
      }).pipe(Effect.timeout("25 seconds"), Effect.scoped)
  )
})
