/**
 * The conformance suite: the promises of the `Transport` contract, checked
 * against a real server. An engine's test file calls {@link run} with its
 * {@link Engine}; a new engine is done when every case passes.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, type Scope } from "effect"
import { definitions, type Engine, node, OrderPlaced, OrderShipped, waitUntil } from "./Engine.ts"

/**
 * The cases, by name: what a status note or a review can quote.
 *
 * @since 0.1.0
 */
export const cases = [
  "round-trips a typed event with its id, correlation id, trace context and headers",
  "fails publish with typed errors: an unrouted definition, a payload naming the bad path",
  "publishAll answers every event in order and each is delivered once",
  "delivers every event to each of two groups",
  "inside one group, each event is handled by one consumer",
  "acknowledges only after every local delivery ended",
  "hands a failed delivery back and redelivers it with the next attempt",
  "dead-letters an undecodable message as DecodeFailed and keeps consuming",
  "dead-letters a delivery that keeps failing as MaxDeliveries after maxDeliveries"
] as const

const ns = () => `ct${randomUUID().replaceAll("-", "").slice(0, 10)}`

/** Runs `body` with a fresh namespace, cleaned up afterwards, within 20 s. */
const scoped = <A, E>(engine: Engine, body: (namespace: string) => Effect.Effect<A, E, Scope.Scope>) => {
  const namespace = ns()
  return body(namespace).pipe(Effect.timeout("20 seconds"), Effect.scoped, Effect.ensuring(engine.cleanup(namespace)))
}

/**
 * Defines the suite for `engine` (inside the caller's test file).
 *
 * @example
 * ```ts
 * import { Suite } from "@eventfabric/transport-conformance"
 * import type { Engine } from "@eventfabric/transport-conformance"
 * declare const engine: Engine.Engine
 * Suite.run(engine)
 * ```
 * @since 0.1.0
 */
export const run = (engine: Engine): void => {
  describe.skipIf(engine.skip !== undefined)(`Transport conformance: ${engine.name}`, () => {
    it.live(cases[0], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          const seen: Array<unknown> = []
          yield* node(engine, namespace, { definitions, group: "billing" }, (bus) =>
            Effect.asVoid(
              bus.subscribe(OrderPlaced, (e) =>
                Effect.sync(() => {
                  const total: number = e.payload.total // typed payload
                  seen.push({
                    payload: { ...e.payload, total },
                    id: e.id,
                    traceparent: e.traceparent,
                    correlationId: e.correlationId,
                    tenant: e.headers?.tenant
                  })
                })
              )
            )
          )
          const pub = yield* node(engine, namespace, { definitions }, () => Effect.void)
          const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
          const published = yield* pub.transport.publish(
            OrderPlaced,
            { orderId: "o-1", total: 42 },
            { traceparent, correlationId: "c-1", headers: { tenant: "t-1" } }
          )
          expect(published.duplicate).toBe(false)
          yield* waitUntil(Effect.sync(() => seen.length === 1))
          expect(seen[0]).toEqual({
            payload: { orderId: "o-1", total: 42 },
            id: published.id,
            traceparent,
            correlationId: "c-1",
            tenant: "t-1"
          })
        })
      )
    )

    it.live(cases[1], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          const pub = yield* node(engine, namespace, { definitions: [OrderPlaced] }, () => Effect.void)
          const unrouted = yield* Effect.flip(pub.transport.publish(OrderShipped, { orderId: "o-1" }))
          expect(unrouted._tag).toMatch(/^Unrouted/)
          const invalid = yield* Effect.flip(pub.transport.publish(OrderPlaced, { orderId: "o-1", total: "x" } as any))
          expect(invalid._tag).toBe("InvalidEvent")
          expect(invalid.message).toContain(`["payload"]["total"]`)
        })
      )
    )

    it.live(cases[2], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          const seen: Array<string> = []
          yield* node(engine, namespace, { definitions, group: "billing" }, (bus) =>
            Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId))))
          )
          const pub = yield* node(engine, namespace, { definitions }, () => Effect.void)
          const payloads = Array.from({ length: 300 }, (_, i) => ({ orderId: `o-${i}`, total: i }))
          const published = yield* pub.transport.publishAll(OrderPlaced, payloads)
          expect(published.length).toBe(300)
          expect(new Set(published.map((p) => p.id)).size).toBe(300)
          yield* waitUntil(Effect.sync(() => seen.length >= 300))
          yield* Effect.sleep("100 millis")
          expect(seen).toEqual(payloads.map((p) => p.orderId)) // one consumer, concurrency 1: in order
        })
      )
    )

    it.live(cases[3], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          const got = { billing: new Set<string>(), shipping: new Set<string>() }
          for (const group of ["billing", "shipping"] as const) {
            yield* node(engine, namespace, { definitions, group }, (bus) =>
              Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => got[group].add(e.id))))
            )
          }
          const pub = yield* node(engine, namespace, { definitions }, () => Effect.void)
          yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) => pub.transport.publish(OrderPlaced, { orderId: `o-${i}`, total: i }),
            { concurrency: 8 }
          )
          yield* waitUntil(Effect.sync(() => got.billing.size === 100 && got.shipping.size === 100))
        })
      )
    )

    it.live(cases[4], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          const handled: Array<Array<string>> = [[], []]
          for (const i of [0, 1]) {
            yield* node(engine, namespace, { definitions, group: "billing", consumer: `c${i}` }, (bus) =>
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
          const pub = yield* node(engine, namespace, { definitions }, () => Effect.void)
          yield* Effect.forEach(
            Array.from({ length: 200 }, (_, i) => i),
            (i) => pub.transport.publish(OrderPlaced, { orderId: `o-${i}`, total: i }),
            { concurrency: 8 }
          )
          yield* waitUntil(Effect.sync(() => handled[0]!.length + handled[1]!.length >= 200))
          yield* Effect.sleep("200 millis")
          const all = [...handled[0]!, ...handled[1]!]
          expect(all.length).toBe(200)
          expect(new Set(all).size).toBe(200)
        })
      )
    )

    it.live(cases[5], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          const gate = yield* Deferred.make<void>()
          const started = yield* Deferred.make<void>()
          const consumer = yield* node(engine, namespace, { definitions, group: "billing" }, (bus) =>
            Effect.gen(function* () {
              yield* bus.subscribe(OrderPlaced, () => Effect.void, { name: "fast" })
              yield* bus.subscribe(
                OrderPlaced,
                () => Effect.andThen(Deferred.succeed(started, undefined), Deferred.await(gate)),
                { name: "slow" }
              )
            })
          )
          const pub = yield* node(engine, namespace, { definitions }, () => Effect.void)
          yield* pub.transport.publish(OrderPlaced, { orderId: "o-1", total: 1 })
          yield* Deferred.await(started)
          yield* Effect.sleep("200 millis")
          const during = yield* consumer.transport.stats
          expect(during.acknowledged).toBe(0)
          expect(during.inFlight).toBe(1)
          yield* Deferred.succeed(gate, undefined)
          yield* waitUntil(Effect.map(consumer.transport.stats, (s) => s.acknowledged === 1 && s.inFlight === 0))
        })
      )
    )

    it.live(cases[6], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          const attempts: Array<number> = []
          const consumer = yield* node(engine, namespace, { definitions, group: "billing" }, (bus) =>
            Effect.asVoid(
              bus.subscribe(OrderPlaced, (e) =>
                Effect.suspend(() => {
                  attempts.push(e.attempt)
                  return attempts.length === 1 ? Effect.fail("flaky") : Effect.void
                })
              )
            )
          )
          const pub = yield* node(engine, namespace, { definitions }, () => Effect.void)
          yield* pub.transport.publish(OrderPlaced, { orderId: "o-1", total: 1 })
          yield* waitUntil(Effect.map(consumer.transport.stats, (s) => s.acknowledged === 1))
          expect(attempts).toEqual([1, 2])
          const stats = yield* consumer.transport.stats
          expect(stats.redelivered).toBe(1)
          expect(stats.deadLettered).toBe(0)
        })
      )
    )

    it.live(cases[7], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          const seen: Array<string> = []
          const consumer = yield* node(engine, namespace, { definitions, group: "billing" }, (bus) =>
            Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload.orderId))))
          )
          const good = (type: string, payload: unknown) =>
            JSON.stringify({ id: `id-${type}`, type, payload, priority: "normal", publishedAt: 1, attempt: 1 })
          yield* engine.injectRaw(namespace, "orders.placed", "{not json")
          yield* engine.injectRaw(namespace, "orders.placed", good("nope.unknown", { orderId: "x", total: 1 }))
          yield* engine.injectRaw(namespace, "orders.placed", good("orders.placed", { orderId: "x", total: "NaN" }))
          const pub = yield* node(engine, namespace, { definitions }, () => Effect.void)
          yield* pub.transport.publish(OrderPlaced, { orderId: "after", total: 1 })
          yield* waitUntil(Effect.sync(() => seen.length === 1))
          yield* waitUntil(Effect.map(consumer.transport.stats, (s) => s.acknowledged === 4))
          expect(seen).toEqual(["after"])
          const letters = yield* consumer.dlq.list({ reason: "DecodeFailed" })
          expect(letters.length).toBe(3)
          expect(letters.map((l) => l.cause).join("\n")).toMatch(/malformed JSON[\s\S]*unknown type[\s\S]*total/)
          expect((yield* consumer.transport.stats).decodeFailed).toBe(3)
        })
      )
    )

    it.live(cases[8], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          let tries = 0
          const consumer = yield* node(engine, namespace, { definitions, group: "billing", maxDeliveries: 2 }, (bus) =>
            Effect.asVoid(
              bus.subscribe(OrderPlaced, () =>
                Effect.suspend(() => {
                  tries++
                  return Effect.fail("always")
                })
              )
            )
          )
          const pub = yield* node(engine, namespace, { definitions }, () => Effect.void)
          yield* pub.transport.publish(OrderPlaced, { orderId: "poison", total: 1 })
          yield* waitUntil(Effect.map(consumer.transport.stats, (s) => s.deadLettered === 1 && s.acknowledged === 1))
          expect(tries).toBe(2)
          const [letter] = yield* consumer.dlq.list()
          expect(letter?.reason).toBe("MaxDeliveries")
          expect(letter?.attempts).toBe(3)
          expect(letter?.envelope.payload).toEqual({ orderId: "poison", total: 1 })
          // Nothing more arrives for it.
          yield* Effect.sleep(Duration.millis(300))
          expect(tries).toBe(2)
        })
      )
    )
  })
}
