import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { type Envelope, EventBus } from "@eventfabric/core"
import { DeadLetterStore } from "@eventfabric/plugins"
import { Effect, Layer, Schedule } from "effect"
import { NatsConnection, NatsSchedule, NatsTransport } from "../src/index.ts"
import { connection, definitions, NATS_URL, OrderPlaced, skip, unique, waitUntil } from "./fixtures.ts"
import { natsBinary, startNats } from "./server.ts"

const names = () => {
  const id = randomUUID().replaceAll("-", "").slice(0, 10)
  return { ...unique(), schedule: { stream: `S_${id}`, subjectPrefix: `s${id}` } }
}
type Names = ReturnType<typeof names>

const drop = (url: string, streams: ReadonlyArray<string>) =>
  Effect.flatMap(NatsConnection.NatsConnection, (c) =>
    Effect.promise(() => Promise.all(streams.map((s) => c.jsm.streams.delete(s).catch(() => false))))
  ).pipe(Effect.scoped, Effect.provide(connection(url)), Effect.ignore)

/** One "process": connection, bus, transport (consuming as `billing` when asked) and the schedule. */
const node = Effect.fnUntraced(function* (
  n: Names,
  opts: { readonly release?: boolean; readonly consume?: (e: Envelope.Envelope) => void; readonly capacity?: number },
  url = NATS_URL!
) {
  const context = yield* Layer.build(
    NatsSchedule.layer({
      definitions,
      ...n.schedule,
      release: opts.release,
      capacity: opts.capacity,
      ackWait: "2 seconds"
    }).pipe(
      Layer.provideMerge(
        NatsTransport.layer({
          definitions,
          stream: n.stream,
          subjectPrefix: n.subjectPrefix,
          group: "billing",
          publishTimeout: "500 millis"
        })
      ),
      Layer.provideMerge(Layer.mergeAll(EventBus.EventBus.layer(), DeadLetterStore.layerMemory())),
      Layer.provideMerge(connection(url))
    )
  )
  return yield* Effect.gen(function* () {
    const transport = yield* NatsTransport.NatsTransport
    if (opts.consume !== undefined) {
      const bus = yield* EventBus.EventBus
      yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => opts.consume!(e)))
      yield* transport.start
    }
    return { schedule: yield* NatsSchedule.NatsSchedule, transport, context }
  }).pipe(Effect.provide(context))
})

const scoped = <A, E, R>(n: Names, self: Effect.Effect<A, E, R>, url = NATS_URL!) =>
  self.pipe(Effect.timeout("25 seconds"), Effect.scoped, Effect.ensuring(drop(url, [n.stream, n.schedule.stream])))

describe.skipIf(skip)("NatsSchedule: delayed publish over JetStream", () => {
  it.live("an entry scheduled by a process that stops is published later by another, with its fields kept", () => {
    const n = names()
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    return scoped(
      n,
      Effect.gen(function* () {
        const scheduled = yield* Effect.scoped(
          Effect.flatMap(node(n, {}), ({ schedule }) =>
            schedule.schedule(
              OrderPlaced,
              { orderId: "o-1", total: 3 },
              { delay: "800 millis", correlationId: "c-1", attempt: 2, headers: { tenant: "t-1" }, traceparent }
            )
          )
        )
        const seen: Array<{ e: Envelope.Envelope; at: number }> = []
        const later = yield* node(n, { consume: (e) => seen.push({ e, at: Date.now() }) })
        yield* waitUntil(Effect.sync(() => seen.length > 0))
        const { e, at } = seen[0]!
        expect(e.id).toBe(scheduled.id)
        expect(e.payload).toEqual({ orderId: "o-1", total: 3 })
        expect([e.correlationId, e.attempt, e.headers?.tenant, e.traceparent]).toEqual(["c-1", 2, "t-1", traceparent])
        expect(at).toBeGreaterThanOrEqual(scheduled.dueAt)
        expect(e.publishedAt).toBeLessThan(scheduled.dueAt)
        yield* waitUntil(Effect.map(later.schedule.pending, (p) => p === 0))
        expect((yield* later.schedule.stats).moved).toBe(1)
      })
    )
  })

  it.live("two releasing processes never publish an entry twice", () => {
    const n = names()
    return scoped(
      n,
      Effect.gen(function* () {
        const seen = new Map<string, number>()
        const consumer = yield* node(n, {
          release: false,
          consume: (e) => seen.set(e.id, (seen.get(e.id) ?? 0) + 1)
        })
        const a = yield* node(n, {})
        const b = yield* node(n, {})
        const N = 20
        const ids = yield* Effect.forEach(
          Array.from({ length: N }, (_, i) => i),
          (i) =>
            Effect.map(
              consumer.schedule.schedule(
                OrderPlaced,
                { orderId: `o-${i}`, total: i },
                { delay: `${(i % 5) * 100} millis` }
              ),
              (r) => r.id
            )
        )
        yield* waitUntil(Effect.sync(() => ids.every((id) => seen.has(id))))
        yield* waitUntil(Effect.map(consumer.schedule.pending, (p) => p === 0))
        const [sa, sb] = [yield* a.schedule.stats, yield* b.schedule.stats]
        expect(sa.moved + sb.moved).toBe(N)
        const [ta, tb] = [yield* a.transport.stats, yield* b.transport.stats]
        expect(ta.duplicates + tb.duplicates).toBe(0)
        expect([...seen.values()].every((count) => count === 1)).toBe(true)
        expect(seen.size).toBe(N)
      })
    )
  })

  const binary = natsBinary()
  it.live.skipIf(binary === undefined)("a nats-server restart (file storage) keeps the pending entries", () =>
    Effect.gen(function* () {
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => startNats(binary!)),
        (s) => Effect.promise(() => s.dispose())
      )
      const n = names()
      const ids = yield* Effect.scoped(
        Effect.flatMap(node(n, { release: false }, server.url), ({ schedule }) =>
          Effect.forEach([0, 1, 2, 3, 4], (i) =>
            Effect.map(
              schedule.schedule(OrderPlaced, { orderId: `o-${i}`, total: i }, { delay: "1 second" }),
              (r) => r.id
            )
          )
        )
      )
      // A crash, not a clean stop: what JetStream acknowledged must be on disk.
      yield* Effect.promise(() => server.stop("SIGKILL"))
      yield* Effect.promise(() => server.start())
      const seen = new Set<string>()
      const after = yield* node(n, { release: false, consume: (e) => seen.add(e.id) }, server.url).pipe(
        Effect.retry({ times: 50, schedule: Schedule.spaced("100 millis") })
      )
      expect(yield* after.schedule.pending).toBe(5)
      yield* node(n, {}, server.url)
      yield* waitUntil(Effect.sync(() => ids.every((id) => seen.has(id))))
      expect(seen.size).toBe(5)
    }).pipe(Effect.timeout("25 seconds"), Effect.scoped)
  )

  it.live("refuses a bad delay, time, definition or option with a typed error, and holds nothing", () => {
    const n = names()
    return scoped(
      n,
      Effect.gen(function* () {
        const { schedule, context } = yield* node(n, { release: false, capacity: 2 })
        const refused = [
          yield* Effect.flip(schedule.schedule(OrderPlaced, { orderId: "a", total: 1 }, { delay: "soon" as never })),
          yield* Effect.flip(schedule.schedule(OrderPlaced, { orderId: "a", total: 1 }, { delay: "Infinity" })),
          yield* Effect.flip(schedule.schedule(OrderPlaced, { orderId: "a", total: 1 }, { at: Number.NaN })),
          yield* Effect.flip(schedule.schedule(OrderPlaced, { orderId: 1 as never, total: 1 }, { delay: "1 second" }))
        ]
        expect(refused.map((e) => e._tag)).toEqual(["InvalidEvent", "InvalidEvent", "InvalidEvent", "InvalidEvent"])
        expect(refused[0]!.message).toContain("delay")
        expect(refused[3]!.message).toContain("orderId")
        expect(yield* schedule.pending).toBe(0)
        // Bounded: the stream holds `capacity` entries; one more is refused, typed.
        yield* schedule.schedule(OrderPlaced, { orderId: "a", total: 1 }, { delay: "1 minute" })
        yield* schedule.schedule(OrderPlaced, { orderId: "b", total: 1 }, { delay: "1 minute" })
        const full = yield* Effect.flip(
          schedule.schedule(OrderPlaced, { orderId: "c", total: 1 }, { delay: "1 minute" })
        )
        expect(full._tag).toBe("ScheduleFullError")
        const bad = yield* Effect.flip(
          Layer.build(NatsSchedule.layer({ definitions, capacity: 0, stream: "no such" })).pipe(Effect.provide(context))
        )
        expect(bad._tag).toBe("InvalidOptions")
        expect(bad.message).toContain("capacity")
      })
    )
  })
})
