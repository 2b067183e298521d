import { describe, expect, it } from "@effect/vitest"
import { Errors, Event, EventBus, Plugin } from "@eventfabric/core"
import { DateTime, Effect, Exit, Layer, Schema } from "effect"
import * as Validation from "../src/Validation.ts"

const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({
    orderId: Schema.String.check(Schema.isNonEmpty()),
    total: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)),
    at: Schema.DateTimeUtcFromString
  })
})
const UserCreated = Event.define("users.created", { payload: Schema.Struct({ id: Schema.String }) })

const bus = (config?: Validation.Options) =>
  EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Validation.plugin(config))))

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") throw new Error("expected a typed failure")
  return error.error
}

describe("Validation", () => {
  it.effect("accepts valid payloads, Type side (DateTimeUtc, not its string)", () =>
    Effect.gen(function* () {
      const b = yield* EventBus.EventBus
      const at = Schema.decodeUnknownSync(Schema.DateTimeUtcFromString)("2026-01-01T00:00:00Z")
      const receipt = yield* b.publish(OrderPlaced, { orderId: "o-1", total: 3, at })
      expect(receipt.status).toBe("accepted")
      const stats = yield* b.stats
      expect(stats.rejected).toBe(0)
      expect(stats.accepted).toBe(1)
    }).pipe(Effect.provide(bus()))
  )

  it.effect("rejects an invalid payload with Schema's message and path, counted rejected", () =>
    Effect.gen(function* () {
      const b = yield* EventBus.EventBus
      const at = Schema.decodeUnknownSync(Schema.DateTimeUtcFromString)("2026-01-01T00:00:00Z")
      const exit = yield* Effect.exit(b.publish(OrderPlaced, { orderId: "o-1", total: -1, at }))
      const error = failure(exit)
      expect(error).toBeInstanceOf(Errors.InvalidEvent)
      expect(error._tag).toBe("InvalidEvent")
      expect((error as Errors.InvalidEvent).type).toBe("orders.placed")
      expect(error.message).toContain("Expected a value greater than or equal to 0")
      expect(error.message).toContain(`at ["payload"]["total"]`)
      // all issues reported
      const exit2 = yield* Effect.exit(b.publish(OrderPlaced, { orderId: "", total: "x", at } as never))
      const message = failure(exit2).message
      expect(message).toContain(`["payload"]["orderId"]`)
      expect(message).toContain(`["payload"]["total"]`)
      const stats = yield* b.stats
      expect(stats.rejected).toBe(2)
      expect(stats.accepted).toBe(0)
      expect(stats.published).toBe(2)
    }).pipe(Effect.provide(bus()))
  )

  it.effect("enforces the allowed domains", () =>
    Effect.gen(function* () {
      const b = yield* EventBus.EventBus
      const error = failure(yield* Effect.exit(b.publish(UserCreated, { id: "u" })))
      expect(error._tag).toBe("InvalidEvent")
      expect(error.message).toContain(`Expected a domain in [orders, billing], got "users"`)
      expect((yield* b.stats).rejected).toBe(1)
    }).pipe(Effect.provide(bus({ domains: ["orders", "billing"] })))
  )

  it.effect("enforces domain.action names on hand-made definitions", () =>
    Effect.gen(function* () {
      const b = yield* EventBus.EventBus
      const bad = { ...UserCreated, name: "Users" } as unknown as typeof UserCreated
      const error = failure(yield* Effect.exit(b.publish(bad, { id: "u" })))
      expect(error.message).toContain("domain.action")
      expect((yield* b.stats).rejected).toBe(1)
    }).pipe(Effect.provide(bus()))
  )

  it.effect("a bad config value fails the layer with InvalidOptions and the path", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.provide(EventBus.EventBus, bus({ domains: ["Orders"] })))
      const error = failure(exit)
      expect(error._tag).toBe("InvalidOptions")
      expect((error as Errors.InvalidOptions).target).toBe("Validation")
      expect(error.message).toContain(`at ["domains"][0]`)
      expect(error.message).toContain("lowercase domain name")
      const exit2 = yield* Effect.exit(Effect.provide(EventBus.EventBus, bus({ naming: "yes" } as never)))
      expect(failure(exit2).message).toContain(`at ["naming"]`)
    })
  )

  describe("publishUnknown", () => {
    const registry = Validation.registry(OrderPlaced, UserCreated)

    it.effect("decodes an HTTP body by type name (encoded side) and publishes it", () =>
      Effect.gen(function* () {
        const b = yield* EventBus.EventBus
        const seen: Array<unknown> = []
        yield* b.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.push(e.payload)), { name: "s" })
        const body: unknown = JSON.parse(`{"orderId":"o-9","total":12.5,"at":"2026-02-03T04:05:06.000Z"}`)
        const receipt = yield* Validation.publishUnknown(b, registry, "orders.placed", body)
        expect(receipt.status).toBe("accepted")
        yield* b.drain
        expect(seen).toHaveLength(1)
        const payload = seen[0] as typeof OrderPlaced.payload.Type
        expect(payload.orderId).toBe("o-9")
        expect(DateTime.toEpochMillis(payload.at)).toBe(Date.parse("2026-02-03T04:05:06.000Z"))
      }).pipe(Effect.provide(bus()))
    )

    it.effect("invalid body and unknown type: InvalidEvent, counted rejected, nothing enqueued", () =>
      Effect.gen(function* () {
        const b = yield* EventBus.EventBus
        const e1 = failure(
          yield* Effect.exit(Validation.publishUnknown(b, registry, "orders.placed", { orderId: "o", total: 1 }))
        )
        expect(e1._tag).toBe("InvalidEvent")
        expect(e1.message).toContain(`at ["payload"]["at"]`)
        const e2 = failure(yield* Effect.exit(Validation.publishUnknown(b, registry, "orders.cancelled", {})))
        expect(e2._tag).toBe("InvalidEvent")
        expect(e2.message).toContain(`Expected a registered event type, got "orders.cancelled"`)
        const e3 = failure(yield* Effect.exit(Validation.publishUnknown(b, registry, "not a name", {})))
        expect(e3._tag).toBe("InvalidEvent")
        const stats = yield* b.stats
        expect(stats.rejected).toBe(3)
        expect(stats.accepted).toBe(0)
      }).pipe(Effect.provide(bus()))
    )

    it.effect("without the plugin, still refuses (uncounted) and never enqueues raw input", () =>
      Effect.gen(function* () {
        const b = yield* EventBus.EventBus
        const e = failure(yield* Effect.exit(Validation.publishUnknown(b, registry, "orders.placed", { total: 1 })))
        expect(e._tag).toBe("InvalidEvent")
        const stats = yield* b.stats
        expect(stats.published).toBe(0)
        expect(stats.accepted).toBe(0)
      }).pipe(Effect.provide(EventBus.EventBus.layer()))
    )
  })
})
