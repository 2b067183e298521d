import { describe, expect, it } from "@effect/vitest"
import { EventBus } from "@eventfabric/core"
import { Effect, Exit } from "effect"
import { Redis } from "effect/persistence/Redis"
import { RedisDeadLetterStore, type RedisTransport } from "../src/index.ts"
import {
  definitions,
  OrderPlaced,
  OrderShipped,
  pendingCount,
  publisher,
  skip,
  startNode,
  waitUntil,
  withPrefix
} from "./fixtures.ts"

const fast = { block: "200 millis", claimInterval: "200 millis" } as const

describe.skipIf(skip)("RedisTransport", () => {
  it.live("round-trips a typed event with its ids and trace context", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const seen: Array<{
          payload: unknown
          id: string
          traceparent?: string | undefined
          correlationId?: string | undefined
        }> = []
        yield* startNode({ definitions, prefix, group: "billing", ...fast }, (bus) =>
          Effect.asVoid(
            bus.subscribe(
              OrderPlaced,
              (e) =>
                Effect.sync(() => {
                  const total: number = e.payload.total // typed payload
                  seen.push({
                    payload: { ...e.payload, total },
                    id: e.id,
                    traceparent: e.traceparent,
                    correlationId: e.correlationId
                  })
                }),
              { name: "billing" }
            )
          )
        )
        const pub = yield* publisher({ definitions, prefix })
        const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        const published = yield* pub.publish(
          OrderPlaced,
          { orderId: "o-1", total: 42 },
          {
            traceparent,
            correlationId: "c-1"
          }
        )
        yield* waitUntil(Effect.sync(() => seen.length === 1))
        expect(seen[0]).toEqual({
          payload: { orderId: "o-1", total: 42 },
          id: published.id,
          traceparent,
          correlationId: "c-1"
        })
        yield* waitUntil(Effect.map(pendingCount(`${prefix}:orders.placed`, "billing"), (n) => n === 0))
      })
    )
  )

  it.live("fails publish with typed errors: unrouted definition, invalid payload", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const pub = yield* publisher({ definitions: [OrderPlaced], prefix })
        const unrouted = yield* Effect.exit(pub.publish(OrderShipped, { orderId: "o-1" }))
        expect(unrouted).toStrictEqual(Exit.fail(expect.objectContaining({ _tag: "UnroutedEvent" })))
        const invalid = yield* Effect.flip(pub.publish(OrderPlaced, { orderId: "o-1", total: "x" } as any))
        expect(invalid._tag).toBe("InvalidEvent")
        expect(invalid.message).toContain(`["payload"]["total"]`)
      })
    )
  )

  it.live("rejects bad options with the path and the expectation", () =>
    withPrefix(() =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(publisher({ definitions, maxLen: 0, consume: ["Orders.*"] } as any))
        expect(error._tag).toBe("InvalidOptions")
        expect(error.message).toContain(`["maxLen"]`)
        expect(error.message).toContain(`["consume"][0]`)
        const noGroup = yield* publisher({ definitions })
        const started = yield* Effect.flip(noGroup.start).pipe(
          Effect.provide([EventBus.EventBus.layer(), RedisDeadLetterStore.layer({ prefix: "unused" })])
        )
        expect(started.message).toContain(`["group"]`)
      })
    )
  )

  it.live("delivers every event to each of two groups", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const got = { billing: new Set<string>(), shipping: new Set<string>() }
        for (const group of ["billing", "shipping"] as const) {
          yield* startNode({ definitions, prefix, group, ...fast }, (bus) =>
            Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => got[group].add(e.id))))
          )
        }
        const pub = yield* publisher({ definitions, prefix })
        for (let i = 0; i < 100; i++) yield* pub.publish(OrderPlaced, { orderId: `o-${i}`, total: i })
        yield* waitUntil(Effect.sync(() => got.billing.size === 100 && got.shipping.size === 100))
      })
    )
  )

  it.live("inside a group, each event goes to one consumer", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const handled: Array<Array<string>> = [[], []]
        for (const i of [0, 1]) {
          yield* startNode({ definitions, prefix, group: "billing", consumer: `c${i}`, readCount: 4, ...fast }, (bus) =>
            Effect.asVoid(
              bus.subscribe(OrderPlaced, (e) =>
                Effect.andThen(
                  Effect.sleep("2 millis"),
                  Effect.sync(() => handled[i]!.push(e.id))
                )
              )
            )
          )
        }
        const pub = yield* publisher({ definitions, prefix })
        yield* Effect.forEach(
          Array.from({ length: 200 }, (_, i) => i),
          (i) => pub.publish(OrderPlaced, { orderId: `o-${i}`, total: i }),
          { concurrency: 8 }
        )
        yield* waitUntil(Effect.sync(() => handled[0]!.length + handled[1]!.length >= 200))
        yield* Effect.sleep("100 millis")
        const all = [...handled[0]!, ...handled[1]!]
        expect(all.length).toBe(200)
        expect(new Set(all).size).toBe(200)
        expect(handled[0]!.length).toBeGreaterThan(0)
        expect(handled[1]!.length).toBeGreaterThan(0)
      })
    )
  )

  it.live("sends malformed entries to the DLQ as DecodeFailed, acknowledges them and keeps going", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const seen: Array<string> = []
        const node = yield* startNode({ definitions, prefix, group: "billing", ...fast }, (bus) =>
          Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId))))
        )
        const redis = yield* Redis
        const stream = `${prefix}:orders.placed`
        const good = (type: string, payload: unknown) =>
          JSON.stringify({ id: `id-${type}`, type, payload, priority: "normal", publishedAt: 1, attempt: 1 })
        yield* redis.send("XADD", stream, "*", "e", "{not json")
        yield* redis.send("XADD", stream, "*", "other", "field")
        yield* redis.send("XADD", stream, "*", "e", good("nope.unknown", { orderId: "x", total: 1 }))
        yield* redis.send("XADD", stream, "*", "e", good("orders.placed", { orderId: "x", total: "NaN" }))
        const pub = yield* publisher({ definitions, prefix })
        yield* pub.publish(OrderPlaced, { orderId: "after", total: 1 })
        yield* waitUntil(Effect.sync(() => seen.length === 1))
        yield* waitUntil(Effect.map(pendingCount(stream, "billing"), (n) => n === 0))
        expect(seen).toEqual(["after"])
        const letters = yield* node.dlq.list({ reason: "DecodeFailed" })
        expect(letters.length).toBe(4)
        expect(letters.map((l) => l.cause).join("\n")).toMatch(
          /malformed JSON[\s\S]*no field "e"[\s\S]*unknown type[\s\S]*total/
        )
        expect(letters.every((l) => l.subscription === "redis:billing")).toBe(true)
        expect((yield* node.transport.stats).decodeFailed).toBe(4)
      })
    )
  )

  it.live("dead-letters an entry past maxDeliveries and acknowledges it", () =>
    withPrefix((prefix) =>
      Effect.gen(function* () {
        const redis = yield* Redis
        const stream = `${prefix}:orders.placed`
        const pub = yield* publisher({ definitions, prefix })
        yield* redis.send("XGROUP", "CREATE", stream, "billing", "0", "MKSTREAM")
        const { entryId } = yield* pub.publish(OrderPlaced, { orderId: "poison", total: 1 })
        // A consumer that read it and died, over and over: 5 deliveries so far; the claim is the 6th.
        yield* redis.send("XREADGROUP", "GROUP", "billing", "ghost", "STREAMS", stream, ">")
        yield* redis.send("XCLAIM", stream, "billing", "ghost", "0", entryId, "RETRYCOUNT", "5")
        const seen: Array<string> = []
        const node = yield* startNode(
          { definitions, prefix, group: "billing", claimIdle: "50 millis", maxDeliveries: 5, ...fast },
          (bus) => Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId))))
        )
        yield* waitUntil(Effect.map(pendingCount(stream, "billing"), (n) => n === 0))
        const [letter] = yield* node.dlq.list()
        expect(seen).toEqual([])
        expect(letter?.reason).toBe("MaxDeliveries")
        expect(letter?.cause).toContain("maxDeliveries 5")
        expect(letter?.attempts).toBe(6)
        expect(letter?.envelope.attempt).toBe(6)
        expect(letter?.envelope.payload).toEqual({ orderId: "poison", total: 1 })
      })
    )
  )

  it.live("exposes its stream keys", () =>
    withPrefix((prefix) =>
      Effect.map(publisher({ definitions, prefix }), (t: RedisTransport.RedisTransport["Service"]) =>
        expect(t.streams.get("orders.placed")).toBe(`${prefix}:orders.placed`)
      )
    )
  )
})
