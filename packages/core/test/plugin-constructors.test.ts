import { describe, expect, it } from "@effect/vitest"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { Context, Effect, Layer, Schema, type Scope } from "effect"

const Placed = Event.define("orders.placed", { payload: Schema.Struct({ n: Schema.Number }) })

/** Runs `program` on a bus with these plugins. */
const withBus = <A, E>(
  plugins: ReadonlyArray<Plugin.Plugin<any, any>>,
  program: (bus: EventBus.EventBus["Service"]) => Effect.Effect<A, E, Scope.Scope>
) =>
  Effect.flatMap(EventBus.EventBus, program).pipe(
    Effect.provide(EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(...plugins))))
  )

describe("Plugin.middleware and Plugin.configured", () => {
  it.effect("Plugin.middleware: a plugin in one call, its name given once, its hooks installed", () =>
    Effect.gen(function* () {
      const seen: Array<string> = []
      const Tagging = Plugin.middleware("Tagging", {
        publish: (next) => (envelope, definition) =>
          next({ ...envelope, headers: { ...envelope.headers, tagged: "yes" } }, definition),
        delivery: (next) => (delivery) =>
          Effect.tap(next(delivery), () => Effect.sync(() => seen.push(delivery.subscription.name)))
      })
      expect(Tagging.name).toBe("Tagging")
      const headers = yield* withBus([Tagging], (bus) =>
        Effect.gen(function* () {
          const got: Array<string | undefined> = []
          yield* bus.subscribe(Placed, (e) => Effect.sync(() => got.push(e.headers?.tagged)), { name: "a" })
          yield* bus.publish(Placed, { n: 1 })
          yield* bus.drain
          return got
        })
      )
      expect(headers).toEqual(["yes"])
      expect(seen).toEqual(["a"])
    })
  )

  it.effect("Plugin.configured decodes the options and builds the hooks from the decoded value", () =>
    Effect.gen(function* () {
      const Options = Schema.Struct({ factor: Schema.optional(Schema.NumberFromString) })
      const Scaling = Plugin.configured("Scaling", Options, (options) => ({
        publish: (next) => (envelope, definition) =>
          next(
            { ...envelope, payload: { n: (envelope.payload as { n: number }).n * (options.factor ?? 1) } },
            definition
          )
      }))
      const got = yield* withBus([Scaling({ factor: "3" })], (bus) =>
        Effect.gen(function* () {
          const out: Array<number> = []
          yield* bus.subscribe(Placed, (e) => Effect.sync(() => out.push(e.payload.n)))
          yield* bus.publish(Placed, { n: 2 })
          yield* bus.drain
          return out
        })
      )
      expect(got).toEqual([6])
    })
  )

  it.effect("Plugin.configured: a bad option fails the layer with InvalidOptions targeted at the plugin's name", () =>
    Effect.gen(function* () {
      const Options = Schema.Struct({ times: Schema.Int.check(Schema.isGreaterThan(0)) })
      const Counting = Plugin.configured("Counting", Options, () => ({}))
      const error = yield* Effect.flip(Layer.build(Plugin.layer(Counting({ times: 0 }))))
      expect(error._tag).toBe("InvalidOptions")
      expect(error.target).toBe("Counting")
      expect(error.message).toContain(`["times"]`)
      const junk = yield* Effect.flip(Layer.build(Plugin.layer(Counting("nope" as never))))
      expect(junk.target).toBe("Counting")
    })
  )

  it.effect("Plugin.configured: a build that is an Effect gets its services from the plugin layer's context", () =>
    Effect.gen(function* () {
      class Prefix extends Context.Service<Prefix, string>()("test/Prefix") {}
      const Prefixing = Plugin.configured("Prefixing", Schema.Struct({}), () =>
        Effect.map(Effect.service(Prefix), (prefix) => ({
          publish: (next) => (envelope, definition) => next({ ...envelope, source: prefix }, definition)
        }))
      )
      const sources = yield* Effect.flatMap(EventBus.EventBus, (bus) =>
        Effect.gen(function* () {
          const out: Array<string | undefined> = []
          yield* bus.subscribe(Placed, (e) => Effect.sync(() => out.push(e.source)))
          yield* bus.publish(Placed, { n: 1 })
          yield* bus.drain
          return out
        })
      ).pipe(
        Effect.provide(
          EventBus.EventBus.layer().pipe(
            Layer.provide(Plugin.layer(Prefixing())),
            Layer.provide(Layer.succeed(Prefix, "edge-1"))
          )
        )
      )
      expect(sources).toEqual(["edge-1"])
    })
  )

  it.effect("Plugin.configured: a build that answers an install gets the bus handle when the bus is built", () =>
    Effect.gen(function* () {
      const counts: Array<number> = []
      const Census = Plugin.configured(
        "Census",
        Schema.Struct({}),
        () => (bus: Plugin.BusHandle) =>
          Effect.succeed<Plugin.Hooks>({
            delivery: (next) => (delivery) =>
              Effect.tap(next(delivery), () => Effect.map(bus.stats, (stats) => counts.push(stats.published)))
          })
      )
      yield* withBus([Census()], (bus) =>
        Effect.gen(function* () {
          yield* bus.subscribe(Placed, () => Effect.void)
          yield* bus.publish(Placed, { n: 1 })
          yield* bus.publish(Placed, { n: 2 })
          yield* bus.drain
        })
      )
      expect(counts.length).toBe(2)
      expect(counts[1]).toBeGreaterThanOrEqual(2)
    })
  )
})
