import { describe, expect, it } from "@effect/vitest"
import { DateTime, Schema } from "effect"
import { Errors, Event, EventBus, Facade } from "../src/index.ts"

const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
})
const Stamped = Event.define("orders.stamped", { payload: Schema.Struct({ at: Schema.DateTimeUtcFromString }) })

/** What a caller without a type checker can pass. */
const untyped = (payload: unknown) => payload as never

const setup = async (options?: Facade.FacadeOptions) => {
  const errors: Array<Facade.EmitError> = []
  const bus = await Facade.make(EventBus.layer(), { onError: (e) => errors.push(e), ...options })
  const seen: Array<unknown> = []
  bus.on(OrderPlaced, (e) => void seen.push(e.payload), { name: "seen" })
  return { bus, errors, seen }
}

describe("Facade boundary validation", () => {
  it("an emit from plain JavaScript with a wrong payload is refused with InvalidEvent naming the path, and never delivered", async () => {
    const { bus, errors, seen } = await setup()
    bus.emit(OrderPlaced, untyped({ orderId: 2 }))
    bus.emit(OrderPlaced, { orderId: "o-1", total: 1 })
    await bus.drain()
    expect(seen).toEqual([{ orderId: "o-1", total: 1 }])
    expect(errors).toHaveLength(1)
    const error = errors[0]!
    expect(error).toBeInstanceOf(Errors.InvalidEvent)
    expect(error.message).toContain(`at ["payload"]["orderId"]`)
    expect(error.message).toContain(`at ["payload"]["total"]`)
    const s = bus.stats()
    expect(s.facade.invalid).toBe(1)
    expect(s.published).toBe(1)
    expect(s.facade.emitted).toBe(s.published + s.refused + s.facade.overflowed + s.facade.pending + s.facade.invalid)
    await bus.close()
  })

  it("emitAndWait rejects a wrong payload with InvalidEvent", async () => {
    const { bus, seen } = await setup()
    const error = await bus.emitAndWait(OrderPlaced, untyped("not an object")).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(Errors.InvalidEvent)
    expect((error as Errors.InvalidEvent).message).toContain(`at ["payload"]`)
    expect(seen).toEqual([])
    await bus.close()
  })

  it("payloads are checked on their decoded side, as emit's type says", async () => {
    const errors: Array<Facade.EmitError> = []
    const bus = await Facade.make(EventBus.layer(), { onError: (e) => errors.push(e) })
    let delivered = 0
    bus.on(Stamped, () => void delivered++, { name: "stamped" })
    await bus.emitAndWait(Stamped, { at: DateTime.nowUnsafe() })
    bus.emit(Stamped, untyped({ at: "2026-01-01T00:00:00Z" }))
    await bus.drain()
    expect(delivered).toBe(1)
    expect(errors.map((e) => e._tag)).toEqual(["InvalidEvent"])
    await bus.close()
  })

  it("validate: false opts out: the payload goes to the bus unchecked", async () => {
    const { bus, errors, seen } = await setup({ validate: false })
    bus.emit(OrderPlaced, untyped({ orderId: 2 }))
    await bus.drain()
    expect(seen).toEqual([{ orderId: 2 }])
    expect(errors).toEqual([])
    expect(bus.stats().facade.invalid).toBe(0)
    await bus.close()
  })
})
