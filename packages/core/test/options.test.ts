import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Schema } from "effect"
import { Event, EventBus } from "../src/index.ts"
import { bus, Task } from "./fixtures.ts"

const buildError = (options: unknown) =>
  Effect.flip(Layer.build(EventBus.EventBus.layer(options as EventBus.EventBus extends never ? never : any)))

describe("options", () => {
  it.effect("a bad value fails the layer with the path and the expectation", () =>
    Effect.gen(function* () {
      const error = yield* buildError({
        maxConcurrentHandlers: 0,
        lanes: { low: { capacity: "big", strategy: "drop" } }
      })
      expect(error._tag).toBe("InvalidOptions")
      expect(error.message).toContain(`at ["maxConcurrentHandlers"]`)
      expect(error.message).toContain(`at ["lanes"]["low"]["capacity"]`)
      expect(error.message).toContain(`at ["lanes"]["low"]["strategy"]`)
      expect(error.message).toMatch(/greater than 0/)
    })
  )

  it.effect("CRITICAL never drops: dropping or sliding is refused", () =>
    Effect.gen(function* () {
      const error = yield* buildError({ lanes: { critical: { capacity: 10, strategy: "sliding" } } })
      expect(error.message).toContain("CRITICAL never drops")
      expect(error.message).toContain(`at ["lanes"]["critical"]["strategy"]`)
    })
  )

  it.effect("durations are accepted as strings, millis or Durations", () =>
    Effect.gen(function* () {
      const error = yield* buildError({ timeout: "soon" })
      expect(error.message).toContain(`at ["timeout"]`)
      const b = yield* Effect.provide(bus, EventBus.EventBus.layer({ timeout: 250, shutdownGrace: "1 second" }))
      expect(b).toBeDefined()
    })
  )

  it.effect("layerConfig reads the same options from environment variables", () =>
    Effect.gen(function* () {
      const env = {
        EVENTFABRIC_MAX_CONCURRENT_HANDLERS: "7",
        EVENTFABRIC_LANES_LOW_CAPACITY: "10",
        EVENTFABRIC_LANES_LOW_STRATEGY: "dropping",
        EVENTFABRIC_TIMEOUT: "2 seconds"
      }
      const provider = ConfigProvider.layer(ConfigProvider.fromEnv({ env }).pipe(ConfigProvider.constantCase))
      const stats = yield* Effect.flatMap(bus, (b) => b.stats).pipe(
        Effect.provide(EventBus.EventBus.layerConfig.pipe(Layer.provide(provider)))
      )
      expect(stats.maxConcurrentHandlers).toBe(7)
      expect(stats.lanes.low).toMatchObject({ capacity: 10, strategy: "dropping" })
      const bad = yield* Effect.flip(
        Layer.build(
          EventBus.EventBus.layerConfig.pipe(
            Layer.provide(
              ConfigProvider.layer(
                ConfigProvider.fromEnv({ env: { EVENTFABRIC_MAX_CONCURRENT_HANDLERS: "many" } }).pipe(
                  ConfigProvider.constantCase
                )
              )
            )
          )
        )
      )
      expect(String(bad)).toContain("maxConcurrentHandlers")
    })
  )

  it.effect("subscribe options are validated, and names are unique", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const bad = yield* Effect.flip(b.subscribe(Task, () => Effect.void, { concurrency: 0 }))
      expect(bad.message).toContain(`at ["concurrency"]`)
      yield* b.subscribe(Task, () => Effect.void, { name: "x" })
      const taken = yield* Effect.flip(b.subscribe(Task, () => Effect.void, { name: "x" }))
      expect(taken.message).toContain(`"x" is in use`)
    }).pipe(Effect.provide(EventBus.EventBus.layer()))
  )

  it("event names are checked at runtime with Schema's message", () => {
    expect(() => Event.define("Orders" as string, { payload: Schema.String })).toThrow(/domain\.action/)
    expect(() => Event.define("orders." as string, { payload: Schema.String })).toThrow(/domain\.action/)
    expect(Event.define("orders.line_added", { payload: Schema.String }).name).toBe("orders.line_added")
  })

  it("event names are checked at compile time", () => {
    // @ts-expect-error: not domain.action
    const noDot = () => Event.define("orders", { payload: Schema.String })
    // @ts-expect-error: uppercase
    const upper = () => Event.define("Orders.Placed", { payload: Schema.String })
    expect(noDot).toThrow()
    expect(upper).toThrow()
  })
})
