/**
 * Fuzz (issue 11): junk through every public entry point of core. Each call
 * must end in a typed error naming what was wrong (or a success, where the
 * junk happens to be valid) — never a defect, never a hang — and after every
 * run the bus's sums add up with no publishAndWait left pending.
 *
 * Runs: `EVENTFABRIC_FUZZ_RUNS` (default 300 per entry point).
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Schema, type Scope, Stream } from "effect"
import * as fc from "fast-check"
import { Envelope, Errors, Event, EventBus, Facade, Options, Selector } from "../src/index.ts"
import { Task } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

const runs = Number(process.env.EVENTFABRIC_FUZZ_RUNS ?? 300)
/** Scaled with the runs: a long run is slow, not hung (a hang still ends the run). */
const timeout = 30_000 + runs * 100

/** Junk of every shape, plus values near the valid ones. */
const junk = fc.oneof(
  fc.anything(),
  fc.constantFrom(null, undefined, Number.NaN, Infinity, -1, 0, 2 ** 32, "", "bogus", [], {}),
  fc.record({ _tag: fc.constantFrom("EventDefinition", "Pattern", "CircuitOpen"), name: fc.anything() }),
  fc.anything().map((priority) => ({ ...Task, priority })),
  fc.record({ capacity: fc.anything(), strategy: fc.anything(), mailbox: fc.anything(), concurrency: fc.anything() })
)

/** A typed error of the bus's: a class it exports, with a message naming something. */
const expectTyped = (error: unknown) => {
  const typed =
    error instanceof Errors.InvalidEvent ||
    error instanceof Errors.InvalidOptions ||
    error instanceof Errors.BusClosedError ||
    error instanceof Errors.BackpressureError ||
    (typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "NoSubscription")
  expect(typed, `not a typed error: ${String(error)}`).toBe(true)
  expect((error as Error).message.length).toBeGreaterThan(0)
}

/** Runs `self` and checks it ended in a success or a typed failure, never a defect. */
const settle = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(self), (exit) => {
    if (Exit.isFailure(exit)) {
      expect(Cause.hasDies(exit.cause), Cause.pretty(exit.cause)).toBe(false)
      const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
      if (reason !== undefined) expectTyped(reason.error)
    }
    return exit
  })

const withFreshBus = <A, E>(body: (bus: EventBus.EventBus["Service"]) => Effect.Effect<A, E, Scope.Scope>) =>
  Effect.flatMap(EventBus.EventBus, (bus) =>
    Effect.gen(function* () {
      yield* body(bus)
      yield* bus.drain
      const stats = yield* bus.stats
      expectBalanced(stats)
      expect(stats.waiting).toBe(0)
    })
  ).pipe(Effect.scoped, Effect.provide(EventBus.EventBus.layer()), Effect.runPromise)

describe("fuzz: core entry points", () => {
  it(
    `publish and publishAndWait answer any definition, payload and options typed (${runs} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(junk, junk, junk, fc.boolean(), (definition, payload, options, wait) =>
          withFreshBus((bus) =>
            Effect.gen(function* () {
              yield* bus.subscribe(Task, () => Effect.void)
              const publish = (d: unknown) =>
                wait
                  ? Effect.asVoid(bus.publishAndWait(d as typeof Task, payload as never, options as never))
                  : Effect.asVoid(bus.publish(d as typeof Task, payload as never, options as never))
              yield* settle(publish(definition))
              // and the valid definition with junk payload and options
              yield* settle(publish(Task))
            })
          )
        ),
        { numRuns: runs }
      ),
    timeout
  )

  it(
    `subscribe and events answer any selector, handler and options typed (${runs} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(junk, junk, junk, (selector, handler, options) =>
          withFreshBus((bus) =>
            Effect.gen(function* () {
              yield* settle(
                bus.subscribe(selector as typeof Task, handler as () => Effect.Effect<void>, options as never)
              )
              yield* settle(bus.subscribe(Task, () => Effect.void, options as never))
              const stream = bus.events(Task, options as never)
              // a stream that started fine never ends by itself: take nothing from it
              yield* settle(Stream.runDrain(Stream.take(stream, 0)))
              yield* settle(Stream.runDrain(Stream.take(bus.events(selector as typeof Task), 0)))
            })
          )
        ),
        { numRuns: runs }
      ),
    timeout
  )

  it(
    `redeliver and configure answer junk typed (${runs} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(junk, junk, (name, value) =>
          withFreshBus((bus) =>
            Effect.gen(function* () {
              yield* bus.subscribe(Task, () => Effect.void, { name: "target" })
              yield* settle(bus.redeliver(name as string, value as Envelope.Envelope))
              yield* settle(bus.redeliver("target", value as Envelope.Envelope))
              yield* settle(bus.configure(value as never))
            })
          )
        ),
        { numRuns: runs }
      ),
    timeout
  )

  it(
    `EventBus.layer answers any options with InvalidOptions naming the path, or builds (${runs} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(
          fc.oneof(
            junk,
            fc.record({
              lanes: fc.record({ low: junk, normal: junk, critical: junk }),
              mailbox: junk,
              maxConcurrentHandlers: junk,
              shutdownGrace: junk,
              timeout: junk
            })
          ),
          (options) =>
            Effect.gen(function* () {
              const exit = yield* settle(
                Effect.scoped(
                  Effect.provide(Effect.asVoid(EventBus.EventBus), EventBus.EventBus.layer(options as never))
                )
              )
              if (Exit.isFailure(exit)) {
                const error = exit.cause.reasons.find((r) => r._tag === "Fail")
                expect(error?._tag === "Fail" && error.error).toBeInstanceOf(Errors.InvalidOptions)
              }
            }).pipe(Effect.runPromise)
        ),
        { numRuns: runs }
      ),
    timeout
  )

  it(
    `Event.define throws a SchemaError naming the field for junk, never a TypeError (${runs} runs)`,
    () =>
      fc.assert(
        fc.property(junk, junk, (name, options) => {
          for (const n of [name, "tasks.fuzzed"]) {
            try {
              Event.define(n as never, options as never)
            } catch (error) {
              expect(Schema.isSchemaError(error), String(error)).toBe(true)
            }
          }
        }),
        { numRuns: runs }
      ),
    timeout
  )

  it(
    `Selector, Envelope and Options helpers answer junk without throwing (${runs} runs)`,
    () =>
      fc.assert(
        fc.property(junk, junk, (a, b) => {
          expect(typeof (Selector.problem(a) ?? "")).toBe("string")
          expect(typeof (Envelope.problem(a, b) ?? "")).toBe("string")
          const exit = Effect.runSyncExit(Options.decode(Options.SubscribeOptions, "subscribe", a))
          if (Exit.isFailure(exit)) expect(Cause.hasDies(exit.cause)).toBe(false)
        }),
        { numRuns: runs }
      ),
    timeout
  )

  it(
    `Facade.make answers junk options with a thrown InvalidOptions, or builds (${Math.ceil(runs / 3)} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(junk, async (options) => {
          let facade: Facade.Facade | undefined
          try {
            facade = await Facade.make(EventBus.EventBus.layer(), options as never)
          } catch (error) {
            expect(error, String(error)).toBeInstanceOf(Errors.InvalidOptions)
          } finally {
            await facade?.close()
          }
        }),
        { numRuns: Math.ceil(runs / 3) }
      ),
    timeout
  )

  it(
    `the Facade never throws from emit, rejects emitAndWait typed, and counts every emit (${Math.ceil(runs / 3)} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(junk, junk, junk, async (definition, payload, options) => {
          const errors: Array<Facade.EmitError> = []
          const facade = await Facade.make(EventBus.EventBus.layer(), { onError: (e) => errors.push(e) })
          try {
            facade.on(Task, () => undefined, { name: "ok" })
            // `on` throws at once on junk: InvalidOptions, or a TypeError for a bad pattern string
            try {
              facade.on(definition as never, payload as never, options as never)
            } catch (error) {
              if (!(error instanceof TypeError && typeof definition === "string")) {
                expect(error, String(error)).toBeInstanceOf(Errors.InvalidOptions)
              }
            }
            expect(() => facade.emit(definition as never, payload as never, options as never)).not.toThrow()
            expect(() => facade.emit(Task, payload as never, options as never)).not.toThrow()
            await facade.emitAndWait(definition as never, payload as never, options as never).then(
              () => undefined,
              (error) => expectTyped(error)
            )
            await facade.drain()
            for (const e of errors) expectTyped(e)
            const s = facade.stats()
            expectBalanced(s)
            expect(s.facade.emitted).toBe(s.published + s.refused + s.facade.overflowed + s.facade.pending)
          } finally {
            await facade.close()
          }
        }),
        { numRuns: Math.ceil(runs / 3) }
      ),
    timeout
  )
})
