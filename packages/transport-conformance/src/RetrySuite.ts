/**
 * The Retry cases of the contract: a transported event whose delivery fails
 * is retried on the `Retry` plugin's schedule by the engine's redelivery
 * (the message handed back with the delay, no fiber sleeping while the
 * consumer holds it), and past the schedule it is dead-lettered. Run by each
 * engine's tests beside {@link Suite}, with an engine whose redelivery can
 * wait as long as the delays here (1.5 s).
 *
 * @since 0.2.0
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { EventBus, Plugin } from "@eventfabric/core"
import { DeadLetter, DeadLetterQueue, DeadLetterStore, Retry } from "@eventfabric/plugins"
import { Transport } from "@eventfabric/transport"
import { Context, Effect, Layer, type Scope } from "effect"
import { definitions, type Engine, OrderPlaced, waitUntil } from "./Engine.ts"

/**
 * @since 0.2.0
 */
export const cases = [
  "retries a failing transported delivery after the Retry schedule's delay, handed back to the engine meanwhile",
  "past the Retry schedule a transported delivery is dead-lettered and acknowledged"
] as const

/** One consuming "process" whose bus runs DeadLetter and Retry. */
const node = Effect.fnUntraced(function* (
  engine: Engine,
  namespace: string,
  retry: Retry.Options,
  handler: (e: { readonly attempt: number }) => Effect.Effect<void, string>
) {
  const bus = EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(DeadLetter.plugin(), Retry.plugin(retry))))
  const context = yield* Layer.build(
    Layer.mergeAll(bus, engine.layer(namespace, { definitions, group: "billing" })).pipe(
      Layer.provideMerge(DeadLetterQueue.layerMemory())
    )
  )
  return yield* Effect.gen(function* () {
    yield* (yield* EventBus.EventBus).subscribe(OrderPlaced, handler, { name: "billing" })
    const transport = yield* Transport.Transport
    yield* transport.start
    return { transport, dlq: yield* DeadLetterStore.DeadLetterStore }
  }).pipe(Effect.provide(context))
})

const publisher = Effect.fnUntraced(function* (engine: Engine, namespace: string) {
  const context = yield* Layer.build(
    engine.layer(namespace, { definitions }).pipe(Layer.provide(DeadLetterStore.layerMemory()))
  )
  return Context.get(context, Transport.Transport)
})

const scoped = <A, E>(engine: Engine, body: (namespace: string) => Effect.Effect<A, E, Scope.Scope>) => {
  const namespace = `rt${randomUUID().replaceAll("-", "").slice(0, 10)}`
  return body(namespace).pipe(Effect.timeout("25 seconds"), Effect.scoped, Effect.ensuring(engine.cleanup(namespace)))
}

/**
 * Defines the Retry cases for `engine`.
 *
 * @example
 * ```ts
 * import { RetrySuite } from "@eventfabric/transport-conformance"
 * import type { Engine } from "@eventfabric/transport-conformance"
 * declare const engine: Engine.Engine
 * RetrySuite.run(engine)
 * ```
 * @since 0.2.0
 */
export const run = (engine: Engine): void => {
  describe.skipIf(engine.skip !== undefined)(`Retry over a transport: ${engine.name}`, () => {
    it.live(cases[0], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          const tries: Array<{ attempt: number; at: number }> = []
          const consumer = yield* node(
            engine,
            namespace,
            { times: 3, base: "1500 millis", factor: 1, jitter: false },
            (e) =>
              Effect.suspend(() => {
                tries.push({ attempt: e.attempt, at: Date.now() })
                return e.attempt < 3 ? Effect.fail("flaky") : Effect.void
              })
          )
          const pub = yield* publisher(engine, namespace)
          yield* pub.publish(OrderPlaced, { orderId: "o-1", total: 1 })
          // Handed back after the first failure: nothing in flight while the delay runs.
          yield* waitUntil(Effect.map(consumer.transport.stats, (s) => s.redelivered >= 1 && s.inFlight === 0))
          const during = yield* consumer.transport.stats
          expect([tries.length, during.redelivered, during.inFlight]).toEqual([1, 1, 0])
          yield* waitUntil(Effect.map(consumer.transport.stats, (s) => s.acknowledged === 1))
          expect(tries.map((t) => t.attempt)).toEqual([1, 2, 3])
          // Not before the schedule's delay (1.5 s each, less rounding of the engine's timers).
          expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(1450)
          expect(tries[2]!.at - tries[1]!.at).toBeGreaterThanOrEqual(1450)
          const stats = yield* consumer.transport.stats
          expect([stats.redelivered, stats.deadLettered, stats.inFlight]).toEqual([2, 0, 0])
          expect(yield* consumer.dlq.list()).toEqual([])
        })
      )
    )

    it.live(cases[1], () =>
      scoped(engine, (namespace) =>
        Effect.gen(function* () {
          const attempts: Array<number> = []
          const consumer = yield* node(
            engine,
            namespace,
            { times: 2, base: "300 millis", factor: 1, jitter: false },
            (e) =>
              Effect.suspend(() => {
                attempts.push(e.attempt)
                return Effect.fail("always")
              })
          )
          const pub = yield* publisher(engine, namespace)
          yield* pub.publish(OrderPlaced, { orderId: "poison", total: 1 })
          yield* waitUntil(Effect.map(consumer.transport.stats, (s) => s.acknowledged === 1))
          expect(attempts).toEqual([1, 2, 3])
          const letters = yield* consumer.dlq.list()
          expect(letters.map((l) => [l.reason, l.attempts, l.envelope.payload])).toEqual([
            ["HandlerError", 3, { orderId: "poison", total: 1 }]
          ])
          expect((yield* consumer.transport.stats).redelivered).toBe(2)
          // Nothing more arrives for it.
          yield* Effect.sleep("600 millis")
          expect(attempts).toEqual([1, 2, 3])
        })
      )
    )
  })
}
