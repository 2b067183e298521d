import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { EventBus } from "../src/index.ts"

const statsOf = (layer: Layer.Layer<EventBus.EventBus, unknown>) =>
  Effect.flatMap(EventBus.EventBus, (bus) => bus.stats).pipe(Effect.provide(layer))

/** Sets variables in `process.env` for one effect, then restores them. */
const withEnv = <A, E>(vars: Record<string, string>, effect: Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
      Object.assign(process.env, vars)
      return saved
    }),
    () => effect,
    (saved) =>
      Effect.sync(() => {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k]
          else process.env[k] = v
        }
      })
  )

describe("layerConfig", () => {
  it.effect("README: `EventBus.layerConfig` reads plain EVENTFABRIC_* variables with Effect's default provider", () =>
    withEnv(
      {
        EVENTFABRIC_MAX_CONCURRENT_HANDLERS: "7",
        EVENTFABRIC_LANES_LOW_CAPACITY: "10",
        EVENTFABRIC_LANES_LOW_STRATEGY: "dropping"
      },
      Effect.gen(function* () {
        // the README's line, as written
        const FromEnv = EventBus.layerConfig
        const stats = yield* statsOf(FromEnv)
        expect(stats.maxConcurrentHandlers).toBe(7)
        expect(stats.lanes.low).toMatchObject({ capacity: 10, strategy: "dropping" })
      })
    )
  )

  it.effect("with no EVENTFABRIC_* variable set, the bus gets the defaults", () =>
    Effect.gen(function* () {
      const stats = yield* statsOf(
        EventBus.layerConfig.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: {} }))))
      )
      expect(stats.maxConcurrentHandlers).toBe(100)
      expect(stats.lanes.low).toMatchObject({ capacity: 8192, strategy: "sliding" })
    })
  )

  it.effect("a bad variable fails the layer naming the option", () =>
    Effect.gen(function* () {
      const env = { EVENTFABRIC_MAX_CONCURRENT_HANDLERS: "many" }
      const error = yield* Effect.flip(
        Layer.build(EventBus.layerConfig.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))))
      )
      expect(String(error)).toContain(`at ["eventfabric"]["maxConcurrentHandlers"]`)
    })
  )

  it.effect("a structured provider gives the same options in camel case", () =>
    Effect.gen(function* () {
      const provider = ConfigProvider.fromUnknown({ eventfabric: { maxConcurrentHandlers: 3, timeout: "2 seconds" } })
      const stats = yield* statsOf(EventBus.layerConfig.pipe(Layer.provide(ConfigProvider.layer(provider))))
      expect(stats.maxConcurrentHandlers).toBe(3)
    })
  )

  it.effect("the module-level layer is the class's layer", () =>
    Effect.gen(function* () {
      const stats = yield* statsOf(EventBus.layer({ maxConcurrentHandlers: 9 }))
      expect(stats.maxConcurrentHandlers).toBe(9)
    })
  )
})
