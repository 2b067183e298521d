/**
 * Fuzz (issue 11): junk through the plugins' public entry points. A plugin's
 * config builds or fails its layer with `InvalidOptions` naming the path; the
 * functions that take untrusted input answer it typed; nothing dies, nothing
 * hangs, and the bus's sums add up with no publishAndWait left pending.
 *
 * Runs: `EVENTFABRIC_FUZZ_RUNS` (default 300 per entry point; 100 for layer builds).
 */
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Errors, Event, EventBus, Plugin, type Stats } from "@eventfabric/core"
import { Cause, Effect, Exit, Layer, Schema, type Scope } from "effect"
import * as fc from "fast-check"
import {
  Audit,
  Batching,
  CircuitBreaker,
  DeadLetter,
  Dedup,
  Metrics,
  Redaction,
  Retry,
  Tracing,
  Validation
} from "../src/index.ts"

const runs = Number(process.env.EVENTFABRIC_FUZZ_RUNS ?? 300)
/** Scaled with the runs: a long run is slow, not hung (a hang still ends the run). */
const timeout = 30_000 + runs * 100

const Task = Event.define("tasks.done", { payload: Schema.Struct({ n: Schema.Number }) })
const Metric = Event.define("telemetry.metric", {
  payload: Schema.Struct({ n: Schema.Number }),
  priority: "low",
  batchable: true
})

const junk = fc.oneof(
  fc.anything(),
  fc.constantFrom(null, undefined, Number.NaN, Infinity, -1, 0, 2 ** 32, "", "bogus", "1 second", [], {}),
  fc.record({ times: fc.anything(), failures: fc.anything(), window: fc.anything(), mode: fc.anything() })
)

const typedTags = new Set([
  "InvalidOptions",
  "InvalidEvent",
  "BusClosedError",
  "BackpressureError",
  "NoSubscription",
  "EntryNotFound",
  "NotAttached",
  "StoreError"
])

/** Ends in a success or a typed failure naming something; never a defect. */
const settle = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(self), (exit) => {
    if (Exit.isFailure(exit)) {
      expect(Cause.hasDies(exit.cause), Cause.pretty(exit.cause)).toBe(false)
      const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
      if (reason !== undefined) {
        const error = reason.error as { _tag?: unknown; message?: unknown }
        expect(typedTags.has(String(error._tag)), `not a typed error: ${String(error._tag)}`).toBe(true)
        expect(String(error.message).length).toBeGreaterThan(0)
      }
    }
    return exit
  })

const balanced = (s: Stats.Stats) => {
  expect(s.published + s.system.published).toBe(s.rejected + s.deduplicated + s.dropped + s.accepted)
  expect(s.queued).toBe(0)
  expect(s.deliveries.inFlight).toBe(0)
  expect(s.waiting).toBe(0)
}

const services = Layer.mergeAll(
  NodeFileSystem.layer,
  DeadLetter.DeadLetterQueue.layerMemory({ capacity: 10 }),
  Dedup.layerMemory({ capacity: 10 })
)

/** Builds a bus with `plugin`, publishes one event through it, and checks the sums. */
const buildWith = (plugin: Plugin.Plugin<any, any>) =>
  Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    yield* bus.subscribe(Task, () => Effect.void)
    yield* settle(bus.publishAndWait(Task, { n: 1 }))
    yield* bus.drain
    balanced(yield* bus.stats)
  }).pipe(
    Effect.scoped,
    Effect.provide(EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(plugin)))),
    Effect.provide(services),
    settle
  ) as Effect.Effect<Exit.Exit<void, unknown>>

const withBus = <A, E>(
  plugins: ReadonlyArray<Plugin.Plugin<any, any>>,
  body: (
    bus: EventBus.EventBus["Service"]
  ) => Effect.Effect<A, E, Scope.Scope | DeadLetter.DeadLetterQueue | EventBus.EventBus>
) =>
  Effect.flatMap(EventBus.EventBus, (bus) =>
    Effect.gen(function* () {
      yield* body(bus)
      yield* bus.drain
      balanced(yield* bus.stats)
    })
  ).pipe(
    Effect.scoped,
    Effect.provide(EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(...plugins)))),
    Effect.provide(services),
    (self) => Effect.runPromise(self as Effect.Effect<void, unknown>)
  )

describe("fuzz: plugin entry points", () => {
  it(
    `every plugin's config builds or fails its layer with InvalidOptions (${Math.ceil(runs / 3)} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(junk, (config) =>
          Effect.gen(function* () {
            const made: Array<() => Plugin.Plugin<any, any>> = [
              () => Validation.plugin(config as never),
              () => Audit.plugin(config as never),
              () => CircuitBreaker.plugin(config as never),
              () => Retry.plugin(config as never),
              () => DeadLetter.plugin(config as never),
              () => Dedup.plugin(config as never),
              () => Metrics.plugin(config as never),
              () => Tracing.plugin(config as never),
              () => Redaction.plugin(config as never)
            ]
            for (const make of made) {
              let plugin: Plugin.Plugin<any, any>
              try {
                plugin = make()
              } catch (error) {
                // a plugin constructor that throws must throw the typed error
                expect(error, String(error)).toBeInstanceOf(Errors.InvalidOptions)
                continue
              }
              const exit = yield* buildWith(plugin)
              if (Exit.isFailure(exit)) {
                const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
                expect(reason?._tag === "Fail" ? (reason.error as { _tag?: unknown })._tag : undefined).toBe(
                  "InvalidOptions"
                )
              }
            }
            yield* settle(Effect.scoped(Layer.build(Redaction.Redactor.layer(config as never))))
            yield* settle(Effect.scoped(Layer.build(DeadLetter.DeadLetterQueue.layerMemory(config as never))))
            yield* settle(Effect.scoped(Layer.build(Dedup.layerMemory(config as never))))
          }).pipe(Effect.runPromise)
        ),
        { numRuns: Math.ceil(runs / 3) }
      ),
    120_000
  )

  it(
    `Validation.publishUnknown answers any type, body and options typed (${runs} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(junk, junk, junk, (type, body, options) =>
          withBus([Validation.plugin()], (bus) =>
            Effect.gen(function* () {
              const registry = Validation.registry(Task)
              yield* settle(Validation.publishUnknown(bus, registry, type as string, body, options as never))
              yield* settle(Validation.publishUnknown(bus, registry, "tasks.done", body, options as never))
            })
          )
        ),
        { numRuns: runs }
      ),
    timeout
  )

  it(
    `Batching.subscribe answers any definition and options typed (${runs} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(junk, junk, (definition, options) =>
          withBus([], () =>
            Effect.gen(function* () {
              yield* settle(Batching.subscribe(Metric, () => Effect.void, options as never))
              yield* settle(Batching.subscribe(definition as typeof Metric, () => Effect.void))
            })
          )
        ),
        { numRuns: runs }
      ),
    timeout
  )

  it(
    `the dead-letter queue answers any id, filter and age typed (${runs} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(junk, junk, (id, filter) =>
          withBus([DeadLetter.plugin()], (bus) =>
            Effect.gen(function* () {
              const dlq = yield* DeadLetter.DeadLetterQueue
              yield* bus.subscribe(Task, () => Effect.fail("nope"), { name: "fails" })
              yield* settle(bus.publishAndWait(Task, { n: 1 }))
              yield* settle(dlq.get(id as string))
              yield* settle(dlq.retry(id as string))
              yield* settle(dlq.list(filter as never))
              yield* settle(dlq.byType(id as string))
              yield* settle(dlq.byReason(id as never))
              yield* settle(dlq.retryAll(filter as never))
              yield* settle(dlq.purge(filter as never))
              yield* settle(dlq.purgeOlderThan(id as never))
            })
          )
        ),
        { numRuns: runs }
      ),
    timeout
  )

  it(
    `the redactor and the pure helpers answer any value without throwing (${runs} runs)`,
    () =>
      fc.assert(
        fc.asyncProperty(junk, (value) =>
          Effect.gen(function* () {
            const redactor = yield* Redaction.Redactor
            const cyclic: Record<string, unknown> = { password: "x", value }
            cyclic.self = cyclic
            for (const v of [value, cyclic]) {
              expect(() => redactor.value(v)).not.toThrow()
              expect(() => Dedup.canonicalJson(v)).not.toThrow()
            }
            if (typeof value === "string") expect(() => redactor.string(value)).not.toThrow()
            expect(() => Tracing.parseTraceparent(value as string)).not.toThrow()
          }).pipe(Effect.provide(Redaction.Redactor.layer()), Effect.runPromise)
        ),
        { numRuns: runs }
      ),
    timeout
  )
})
