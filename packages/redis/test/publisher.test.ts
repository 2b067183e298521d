import { describe, expect, it } from "@effect/vitest"
import { Envelope } from "@eventfabric/core"
import { RetryLater } from "@eventfabric/plugins"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import { Redis } from "effect/persistence/Redis"
import { RedisConnection, RedisTransport, type TransportOptions } from "../src/index.ts"
import { definitions, OrderPlaced, proxy, publisher, skip, startNode, waitUntil, withPrefix } from "./fixtures.ts"

/** A publisher whose connection goes through the proxy `p`. */
const proxied = (
  p: { readonly port: () => number; readonly release: () => void },
  options: TransportOptions.TransportOptions
) =>
  Effect.gen(function* () {
    const context = yield* Layer.build(RedisConnection.layer({ url: `redis://127.0.0.1:${p.port()}` }))
    // Runs before the connection closes, which waits for commands still held in the proxy.
    yield* Effect.addFinalizer(() => Effect.sync(p.release))
    return yield* RedisTransport.make(options).pipe(Effect.provide(context))
  })

const streamLength = (stream: string) =>
  Effect.flatMap(Redis, (redis) => redis.send<number>("XLEN", stream)).pipe(Effect.map(Number))

const tags = (exits: ReadonlyArray<Exit.Exit<unknown, { readonly _tag: string }>>) => {
  const counts: Record<string, number> = {}
  for (const exit of exits) {
    const tag = Exit.isSuccess(exit)
      ? "Success"
      : (exit.cause.reasons.find((r) => r._tag === "Fail")?.error._tag ?? "Other")
    counts[tag] = (counts[tag] ?? 0) + 1
  }
  return counts
}

describe.skipIf(skip)("RedisTransport publisher", () => {
  it.live("batches concurrent publishes: every one written once, ids and entry ids as answered", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const pub = yield* publisher({ definitions, prefix, publishBatch: 64 })
        const published = yield* Effect.forEach(
          Array.from({ length: 2000 }, (_, i) => i),
          (i) => pub.publish(OrderPlaced, { orderId: `o-${i}`, total: i }),
          { concurrency: 500 }
        )
        const redis = yield* Redis
        const entries = yield* redis.send<Array<[string, Array<string>]>>("XRANGE", `${prefix}:orders.placed`, "-", "+")
        expect(entries.length).toBe(2000)
        expect(new Set(published.map((p) => p.id)).size).toBe(2000)
        expect(new Set(entries.map(([id]) => String(id)))).toEqual(new Set(published.map((p) => p.entryId)))
        const byEntry = new Map(entries.map(([id, fields]) => [String(id), JSON.parse(String(fields[1]))]))
        for (const p of published) expect(byEntry.get(p.entryId)?.id).toBe(p.id)
        expect((yield* pub.stats).published).toBe(2000)
      })
    )
  )

  it.live(
    "bounds what waits for a stalled Redis: PublishBufferFull at once, RedisUnavailable after publishTimeout",
    () =>
      withPrefix((prefix) =>
        Effect.gen(function* () {
          const p = yield* proxy
          const pub = yield* proxied(p, {
            definitions,
            prefix,
            publishBuffer: 4,
            publishBatch: 2,
            publishTimeout: "300 millis"
          })
          yield* pub.publish(OrderPlaced, { orderId: "before", total: 1 })
          p.hold()
          const started = Date.now()
          const fibers = yield* Effect.forEach(
            Array.from({ length: 10 }, (_, i) => i),
            (i) => Effect.forkChild(Effect.exit(pub.publish(OrderPlaced, { orderId: `stalled-${i}`, total: i })))
          )
          // The six beyond the bound fail at once, without waiting for Redis.
          yield* Effect.sleep("100 millis")
          const early = fibers.flatMap((f) => {
            const exit = f.pollUnsafe()
            return exit !== undefined && Exit.isSuccess(exit) ? [exit.value] : []
          })
          expect(tags(early)).toEqual({ PublishBufferFull: 6 })
          const all = yield* Fiber.joinAll(fibers)
          expect(tags(all)).toEqual({ PublishBufferFull: 6, RedisUnavailable: 4 })
          const messages = all.flatMap((exit) =>
            Exit.isFailure(exit) ? exit.cause.reasons.flatMap((r) => (r._tag === "Fail" ? [r.error.message] : [])) : []
          )
          expect(messages.filter((m) => m === "timed out").length).toBe(4)
          // Two batches of two, one timeout each: bounded by publishTimeout, not by the stall.
          expect(Date.now() - started).toBeLessThan(2_000)
          p.release()
          // The buffer is free again.
          const after = yield* pub.publish(OrderPlaced, { orderId: "after", total: 2 })
          expect(after.entryId).toMatch(/^\d+-\d+$/)
        })
      )
  )

  it.live(
    "with Redis down, every concurrent publish fails with RedisUnavailable at once and none is written later",
    () =>
      withPrefix((prefix) =>
        Effect.gen(function* () {
          const p = yield* proxy
          const stream = `${prefix}:orders.placed`
          const pub = yield* proxied(p, { definitions, prefix, publishTimeout: "5 seconds" })
          yield* pub.publish(OrderPlaced, { orderId: "before", total: 1 })
          yield* Effect.promise(p.cut)
          const started = Date.now()
          const exits = yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) => Effect.exit(pub.publish(OrderPlaced, { orderId: `down-${i}`, total: i })),
            { concurrency: "unbounded" }
          )
          expect(tags(exits)).toEqual({ RedisUnavailable: 100 })
          expect(Date.now() - started).toBeLessThan(1_000) // not the 5 s timeout: nothing waited
          yield* Effect.promise(p.restore)
          yield* Effect.sleep("300 millis")
          // Only what was published while Redis was there.
          expect(yield* streamLength(stream)).toBe(1)
        })
      )
  )

  it.live("a publish interrupted while it waits for its batch is not written", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const p = yield* proxy
        const stream = `${prefix}:orders.placed`
        const pub = yield* proxied(p, { definitions, prefix, publishBatch: 1 })
        yield* pub.publish(OrderPlaced, { orderId: "warm-up", total: 0 })
        p.hold()
        // Two batches of one are in flight (the pipeline); the third waits for its batch.
        const inFlight = yield* Effect.forEach(["in-flight-1", "in-flight-2"], (orderId) =>
          Effect.forkChild(pub.publish(OrderPlaced, { orderId, total: 1 }))
        )
        yield* Effect.sleep("50 millis")
        const waiting = yield* Effect.forkChild(pub.publish(OrderPlaced, { orderId: "waiting", total: 2 }))
        yield* Effect.sleep("50 millis")
        yield* Fiber.interrupt(waiting)
        p.release()
        const written = yield* Fiber.joinAll(inFlight)
        expect(written.every((w) => /^\d+-\d+$/.test(w.entryId))).toBe(true)
        yield* Effect.sleep("200 millis")
        const redis = yield* Redis
        const entries = yield* redis.send<Array<[string, Array<string>]>>("XRANGE", stream, "-", "+")
        expect(entries.map(([, fields]) => JSON.parse(String(fields[1])).payload.orderId)).toEqual([
          "warm-up",
          "in-flight-1",
          "in-flight-2"
        ])
      })
    )
  )

  it.live("closing the transport fails the publishes in flight and waiting, and later ones", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const p = yield* proxy
        const scope = yield* Scope.make()
        const pub = yield* proxied(p, { definitions, prefix, publishBatch: 1 }).pipe(Scope.provide(scope))
        yield* pub.publish(OrderPlaced, { orderId: "warm-up", total: 0 })
        p.hold()
        // Two in flight (held by the proxy), one waiting for its batch.
        const fibers = yield* Effect.forEach(["a", "b", "c"], (orderId) =>
          Effect.forkChild(Effect.flip(pub.publish(OrderPlaced, { orderId, total: 1 })))
        )
        yield* Effect.sleep("50 millis")
        yield* Scope.close(scope, Exit.void)
        const errors = yield* Fiber.joinAll(fibers)
        expect(errors.map((e) => [e._tag, e.message])).toEqual(
          Array.from({ length: 3 }, () => ["RedisUnavailable", "the transport is closed"])
        )
        const after = yield* Effect.flip(pub.publish(OrderPlaced, { orderId: "d", total: 1 }))
        expect(after.message).toBe("the transport is closed")
      })
    )
  )

  it.live("keeps a forwarded envelope's identity; the consumer adds only transport facts", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const seen: Array<Envelope.Envelope> = []
        yield* startNode({ definitions, prefix, group: "billing", block: "200 millis" }, (bus) =>
          Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e))))
        )
        const pub = yield* publisher({ definitions, prefix })
        const id = Envelope.makeId(1_700_000_000_000)
        const forwarded = yield* pub.publish(
          OrderPlaced,
          { orderId: "o-1", total: 1 },
          { id, publishedAt: 1_700_000_000_000, attempt: 3, headers: { tenant: "t-1" } }
        )
        const fresh = yield* pub.publish(OrderPlaced, { orderId: "o-2", total: 2 })
        yield* waitUntil(Effect.sync(() => seen.length === 2))
        const [a, b] = [seen.find((e) => e.id === id)!, seen.find((e) => e.id === fresh.id)!]
        expect(forwarded.id).toBe(id)
        expect(a.publishedAt).toBe(1_700_000_000_000)
        expect(a.attempt).toBe(3)
        expect(a.headers).toEqual({
          tenant: "t-1",
          [RedisTransport.headers.entryId]: forwarded.entryId,
          [RedisTransport.headers.deliveries]: "1",
          [RetryLater.header]: "1" // [schedule] the engine-neutral delivery count Retry reads
        })
        expect(b.attempt).toBe(1)
        expect(b.headers).toEqual({
          [RedisTransport.headers.entryId]: fresh.entryId,
          [RedisTransport.headers.deliveries]: "1",
          [RetryLater.header]: "1" // [schedule] the engine-neutral delivery count Retry reads
        })
        const invalid = yield* Effect.flip(pub.publish(OrderPlaced, { orderId: "o-3", total: 3 }, { attempt: 0 }))
        expect(invalid._tag).toBe("InvalidEvent")
        expect(invalid.message).toContain(`["attempt"]`)
      })
    )
  )

  it.live("a redelivered entry arrives with its delivery count and the next attempt", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const redis = yield* Redis
        const stream = `${prefix}:orders.placed`
        const pub = yield* publisher({ definitions, prefix })
        yield* redis.send("XGROUP", "CREATE", stream, "billing", "0", "MKSTREAM")
        const published = yield* pub.publish(OrderPlaced, { orderId: "again", total: 1 })
        // A consumer read it and died: the claim is its second delivery.
        yield* redis.send("XREADGROUP", "GROUP", "billing", "ghost", "STREAMS", stream, ">")
        const seen: Array<Envelope.Envelope> = []
        yield* startNode(
          {
            definitions,
            prefix,
            group: "billing",
            claimIdle: "50 millis",
            claimInterval: "100 millis",
            block: "200 millis"
          },
          (bus) => Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e))))
        )
        yield* waitUntil(Effect.sync(() => seen.length === 1))
        expect(seen[0]!.id).toBe(published.id)
        expect(seen[0]!.attempt).toBe(2)
        expect(seen[0]!.headers?.[RedisTransport.headers.deliveries]).toBe("2")
      })
    )
  )
})
