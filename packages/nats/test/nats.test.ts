import { describe, expect, it } from "@effect/vitest"
import { Envelope } from "@eventfabric/core"
import { freePort } from "@eventfabric/transport-conformance/Servers"
import { Effect, Exit } from "effect"
import { NatsConnection, type NatsOptions, NatsTransport, Subjects } from "../src/index.ts"
import { connection, definitions, OrderPlaced, skip, startNode, waitUntil, withStream } from "./fixtures.ts"

describe("Subjects", () => {
  it("maps event patterns to subject wildcards where NATS can express them", () => {
    expect(Subjects.subject("ef", "orders.placed")).toBe("ef.orders.placed")
    expect(Subjects.wildcard("ef", "orders.*")).toBe("ef.orders.*")
    expect(Subjects.wildcard("ef", "*.failed")).toBe("ef.*.failed")
    expect(Subjects.wildcard("ef", "orders.**")).toBe("ef.orders.>")
    expect(Subjects.wildcard("ef", "**")).toBe("ef.>")
    expect(Subjects.wildcard("ef", "**.failed")).toBeUndefined()
  })
})

describe.skipIf(skip)("NatsTransport", () => {
  it.live("a consume pattern becomes the group's subject filter and selects what it delivers", () =>
    withStream((names) =>
      Effect.gen(function* () {
        const seen: Array<string> = []
        const node = yield* startNode({ definitions, ...names, group: "audit", consume: ["orders.*"] }, (bus) =>
          Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.type))))
        )
        expect(node.transport.filter).toBe(`${names.subjectPrefix}.orders.*`)
        const only = yield* startNode({ definitions, ...names, consume: ["orders.placed"] }, () => Effect.void)
        expect(only.transport.filter).toBe(`${names.subjectPrefix}.orders.placed`)
        yield* node.transport.publish(OrderPlaced, { orderId: "o-1", total: 1 })
        yield* waitUntil(Effect.sync(() => seen.length === 1))
      })
    )
  )

  it.live("a re-published envelope (same id) is stored once inside the duplicate window", () =>
    withStream((names) =>
      Effect.gen(function* () {
        const seen: Array<string> = []
        const node = yield* startNode({ definitions, ...names, group: "billing" }, (bus) =>
          Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.id))))
        )
        const id = Envelope.makeId(Date.now())
        const first = yield* node.transport.publish(OrderPlaced, { orderId: "o-1", total: 1 }, { id })
        const again = yield* node.transport.publish(OrderPlaced, { orderId: "o-1", total: 1 }, { id })
        expect(first.duplicate).toBe(false)
        expect(again).toEqual({ ...first, duplicate: true })
        const other = yield* node.transport.publish(OrderPlaced, { orderId: "o-2", total: 2 })
        yield* waitUntil(Effect.sync(() => seen.length === 2))
        yield* Effect.sleep("200 millis")
        expect(seen).toEqual([id, other.id])
        const stats = yield* node.transport.stats
        expect([stats.published, stats.duplicates]).toEqual([2, 1])
      })
    )
  )

  it.live("replays from a sequence, a time, or the first message for a new group", () =>
    withStream((names) =>
      Effect.gen(function* () {
        const pub = yield* startNode({ definitions, ...names }, () => Effect.void)
        const early = yield* pub.transport.publishAll(
          OrderPlaced,
          Array.from({ length: 5 }, (_, i) => ({ orderId: `o-${i}`, total: i }))
        )
        yield* Effect.sleep("20 millis")
        const cut = Date.now()
        yield* Effect.sleep("20 millis")
        const late = yield* pub.transport.publishAll(
          OrderPlaced,
          Array.from({ length: 5 }, (_, i) => ({ orderId: `o-${i + 5}`, total: i + 5 }))
        )
        const replay = (group: string, startFrom: NatsOptions.NatsOptions["startFrom"]) =>
          Effect.gen(function* () {
            const seen: Array<string> = []
            yield* startNode({ definitions, ...names, group, startFrom }, (bus) =>
              Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId))))
            )
            return seen
          })
        const fromSeq = yield* replay("from-seq", { sequence: Number(early[3]!.position) })
        const fromTime = yield* replay("from-time", { time: cut })
        const fromFirst = yield* replay("from-first", "first")
        const onlyNew = yield* replay("only-new", "new")
        yield* waitUntil(Effect.sync(() => fromSeq.length === 7 && fromTime.length === 5 && fromFirst.length === 10))
        expect(fromSeq).toEqual(["o-3", "o-4", "o-5", "o-6", "o-7", "o-8", "o-9"])
        expect(fromTime).toEqual(late.map((_, i) => `o-${i + 5}`))
        expect(fromFirst.length).toBe(10)
        yield* pub.transport.publish(OrderPlaced, { orderId: "o-10", total: 10 })
        yield* waitUntil(Effect.sync(() => onlyNew.length === 1))
        expect(onlyNew).toEqual(["o-10"])
      })
    )
  )

  it.live("a handler running past ackWait keeps its message: in-progress, not redelivered", () =>
    withStream((names) =>
      Effect.gen(function* () {
        const deliveries: Array<string | undefined> = []
        const node = yield* startNode({ definitions, ...names, group: "slow", ackWait: "600 millis" }, (bus) =>
          Effect.asVoid(
            bus.subscribe(OrderPlaced, (e) =>
              Effect.andThen(
                Effect.sync(() => deliveries.push(e.headers?.[NatsTransport.headers.deliveries])),
                Effect.sleep("1800 millis")
              )
            )
          )
        )
        yield* node.transport.publish(OrderPlaced, { orderId: "o-1", total: 1 })
        yield* waitUntil(Effect.map(node.transport.stats, (s) => s.acknowledged === 1))
        yield* Effect.sleep("700 millis")
        expect(deliveries).toEqual(["1"])
        expect((yield* node.transport.stats).redelivered).toBe(0)
      })
    )
  )

  it.live("typed errors: server unreachable, stream missing", () =>
    withStream((names) =>
      Effect.gen(function* () {
        const port = yield* Effect.promise(freePort)
        const down = yield* Effect.exit(
          Effect.scoped(
            Effect.asVoid(Effect.provide(NatsConnection.NatsConnection, connection(`nats://127.0.0.1:${port}`)))
          )
        )
        expect(down).toStrictEqual(Exit.fail(expect.objectContaining({ _tag: "NatsUnavailableError" })))
        const missing = yield* Effect.flip(
          NatsTransport.make({ definitions, ...names, createStream: false }).pipe(Effect.provide(connection()))
        )
        expect(missing._tag).toBe("StreamMissingError")
        expect(missing.message).toContain(names.stream)
      })
    )
  )

  it.live("rejects bad options with the path and the expectation", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        NatsTransport.make({ definitions, stream: "a b", maxDeliveries: 0 } as any).pipe(
          Effect.provide(connection()),
          Effect.scoped
        )
      )
      expect(error._tag).toBe("InvalidOptions")
      expect(error.message).toContain(`["stream"]`)
      expect(error.message).toContain(`["maxDeliveries"]`)
    })
  )
})
