import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"
import { EventBus, Facade } from "../src/index.ts"
import { bus, OrderPlaced, OrderShipped, Task, withBus } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

const make = (facade?: Facade.FacadeOptions) => Facade.make(EventBus.EventBus.layer(), facade)

describe("Facade emitter API", () => {
  it("once(target) without a handler resolves with the next event and leaves no subscription behind", async () => {
    const bus = await make()
    const next = bus.once(Task)
    expect(bus.listenerCount(Task)).toBe(1)
    bus.emit(Task, { n: 1 })
    bus.emit(Task, { n: 2 })
    const envelope = await next
    expect(envelope.payload.n).toBe(1)
    await bus.drain()
    expect(bus.listenerCount()).toBe(0)
    expect(bus.stats().deliveries.succeeded).toBe(1)
    await bus.close()
  })

  it("once(target) rejects with BusClosedError when the facade closes first, and with the reason on abort", async () => {
    const bus = await make()
    const controller = new AbortController()
    const aborted = bus.once(OrderShipped, { signal: controller.signal })
    controller.abort(new Error("gave up"))
    await expect(aborted).rejects.toThrow("gave up")
    const pending = bus.once("orders.*")
    await bus.close()
    await expect(pending).rejects.toMatchObject({ _tag: "BusClosedError" })
  })

  it("events(target) yields matching events in order; break unsubscribes", async () => {
    const bus = await make()
    const iterator = bus.events(Task)
    for (let n = 0; n < 5; n++) bus.emit(Task, { n })
    const seen: Array<number> = []
    for await (const e of iterator) {
      seen.push(e.payload.n)
      if (seen.length === 5) break
    }
    expect(seen).toEqual([0, 1, 2, 3, 4])
    expect(bus.listenerCount()).toBe(0)
    await bus.close()
  })

  it("events(target) holds the handler while its buffer is full, then hands over every event; it ends at close", async () => {
    const bus = await make()
    const iterator = bus.events(Task, { capacity: 2, name: "reader" })
    for (let n = 0; n < 6; n++) bus.emit(Task, { n })
    await new Promise((resolve) => setTimeout(resolve, 10))
    const reader = bus.stats().subscriptions.find((s) => s.name === "reader")!
    // two buffered, one handler waiting for room, three queued in the mailbox: nothing lost, nothing unbounded
    expect(reader.succeeded).toBe(1)
    expect(reader.inFlight + reader.queued).toBe(5)
    const closing = bus.close()
    const seen: Array<number> = []
    for await (const e of iterator) seen.push(e.payload.n)
    await closing
    expect(seen.slice(0, 3)).toEqual([0, 1, 2])
    expect(seen.length).toBeGreaterThanOrEqual(3)
  })

  it("closing with an unread full events() buffer waits for the grace, then interrupts the held deliveries, counted", async () => {
    const bus = await Facade.make(EventBus.EventBus.layer({ shutdownGrace: "50 millis" }))
    const iterator = bus.events(Task, { capacity: 1, name: "unread" })
    for (let n = 0; n < 3; n++) bus.emit(Task, { n })
    await bus.close()
    const unread = bus.stats().deliveries
    expect(unread.interrupted).toBeGreaterThanOrEqual(1)
    expect(unread.total).toBe(unread.succeeded + unread.interrupted)
    // what was buffered is still readable, then the iterator ends
    const seen: Array<number> = []
    for await (const e of iterator) seen.push(e.payload.n)
    expect(seen[0]).toBe(0)
  })

  it("listenerCount and eventNames describe the facade's subscriptions", async () => {
    const bus = await make()
    const off = bus.on(OrderPlaced, () => {})
    bus.on("orders.*", () => {})
    bus.on([Task, OrderShipped], () => {})
    expect(bus.listenerCount()).toBe(3)
    expect(bus.listenerCount(OrderPlaced)).toBe(2)
    expect(bus.listenerCount("orders.shipped")).toBe(2)
    expect(bus.listenerCount("tasks.done")).toBe(1)
    expect(bus.listenerCount("nothing.here")).toBe(0)
    expect([...bus.eventNames()].sort()).toEqual(["orders.*", "orders.placed", "orders.shipped", "tasks.done"])
    await off()
    expect(bus.eventNames()).not.toContain("orders.placed")
    await bus.close()
  })

  it("emit by name publishes a registered definition, decoded by its Schema", async () => {
    const bus = await make({ registry: [OrderPlaced, Task] })
    const totals: Array<number> = []
    bus.on(OrderPlaced, (e) => void totals.push(e.payload.total))
    bus.emit("orders.placed", { orderId: "o-1", total: 42 })
    const result = await bus.emitAndWait("orders.placed", { orderId: "o-2", total: 7 })
    expect(result.succeeded).toBe(1)
    expect(totals).toEqual([42, 7])
    await bus.close()
  })

  it("emit by an unknown name or with a bad payload reports InvalidEvent naming the path, counted invalid", async () => {
    const errors: Array<Facade.EmitError> = []
    const bus = await make({ registry: [OrderPlaced], onError: (e) => errors.push(e) })
    expect(() => bus.emit("orders.typo", {})).not.toThrow()
    bus.emit("orders.placed", { orderId: "o-1", total: "lots" })
    await expect(bus.emitAndWait("orders.placed", { orderId: 1 })).rejects.toMatchObject({ _tag: "InvalidEvent" })
    expect(errors.map((e) => e._tag)).toEqual(["InvalidEvent", "InvalidEvent"])
    expect(errors[0]!.message).toContain(`unknown event type "orders.typo"`)
    expect(errors[0]!.message).toContain("orders.placed")
    expect(errors[1]!.message).toContain(`["total"]`)
    const s = bus.stats()
    expect(s.facade.invalid).toBe(3)
    expect(s.published).toBe(0)
    expect(s.facade.emitted).toBe(s.published + s.refused + s.facade.overflowed + s.facade.pending + s.facade.invalid)
    await bus.close()
  })

  it("setErrorHandler replaces the error handler at run time; clearErrorHandler restores the default", async () => {
    const first: Array<string> = []
    const second: Array<string> = []
    const bus = await make({ registry: [], onError: (e) => first.push(e._tag) })
    bus.emit("a.b", {})
    bus.setErrorHandler((e) => second.push(e._tag))
    bus.emit("a.b", {})
    bus.clearErrorHandler()
    bus.emit("a.b", {})
    expect(first).toEqual(["InvalidEvent"])
    expect(second).toEqual(["InvalidEvent"])
    expect(bus.stats().facade.errors).toBe(3)
    await bus.close()
  })

  it("stats.since(snapshot) counts what happened after the snapshot and keeps gauges current", async () => {
    const bus = await make()
    bus.on(Task, () => {}, { name: "t" })
    for (let n = 0; n < 3; n++) bus.emit(Task, { n })
    await bus.drain()
    const before = bus.stats()
    for (let n = 0; n < 2; n++) bus.emit(Task, { n })
    await bus.drain()
    const delta = bus.stats.since(before)
    expect(delta.published).toBe(2)
    expect(delta.deliveries.succeeded).toBe(2)
    expect(delta.subscriptions[0]).toMatchObject({ name: "t", succeeded: 2, concurrency: 1 })
    expect(delta.facade.emitted).toBe(2)
    expect(delta.lanes.normal.capacity).toBe(before.lanes.normal.capacity)
    expect(bus.stats().published).toBe(5)
    await bus.close()
  })
})

describe("Subscription.unsubscribe", () => {
  it.effect(
    "unsubscribe has a grace of its own: the scope it was made in still gives its other subscriptions the full grace",
    () =>
      Effect.gen(function* () {
        const b = yield* bus
        const done: Array<string> = []
        const slow = (name: string, millis: number) => () =>
          Effect.andThen(
            Effect.sleep(millis),
            Effect.sync(() => done.push(name))
          )
        // scheduler turns until the dispatcher has routed the event and the handler runs
        const running = (sub: { readonly stats: Effect.Effect<{ readonly inFlight: number }> }) =>
          Effect.gen(function* () {
            for (let turn = 0; turn < 100 && (yield* sub.stats).inFlight === 0; turn++) yield* Effect.yieldNow
          })
        const scope = yield* Scope.make()
        const a = yield* b.subscribe(Task, slow("a", 10_000), { name: "a" }).pipe(Scope.provide(scope))
        const other = yield* b.subscribe(OrderPlaced, slow("b", 4_000), { name: "b" }).pipe(Scope.provide(scope))
        yield* b.publish(Task, { n: 1 })
        yield* running(a)
        const leaving = yield* Effect.forkChild(a.unsubscribe, { startImmediately: true })
        yield* TestClock.adjust("5 seconds") // a's own grace ends: its 10 s handler is interrupted
        yield* Fiber.join(leaving)
        yield* b.publish(OrderPlaced, { orderId: "o-1", total: 1 })
        yield* running(other)
        const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void), { startImmediately: true })
        yield* TestClock.adjust("4 seconds") // within the scope's grace, which opens only now
        yield* Fiber.join(closing)
        expect(done).toEqual(["b"])
        const s = yield* b.stats
        expect(s.deliveries).toMatchObject({ succeeded: 1, interrupted: 1 })
        expectBalanced(s)
      }).pipe(withBus({ shutdownGrace: "5 seconds" }))
  )

  it.effect("unsubscribe stops deliveries before the scope closes, and the scope's close counts nothing twice", () =>
    Effect.gen(function* () {
      const b = yield* bus
      const seen: Array<number> = []
      const sub = yield* b.subscribe(Task, (e) => Effect.sync(() => seen.push(e.payload.n)), { name: "s" })
      yield* b.publish(Task, { n: 1 })
      yield* b.drain
      yield* sub.unsubscribe
      yield* sub.unsubscribe
      yield* b.publish(Task, { n: 2 })
      yield* b.drain
      expect(seen).toEqual([1])
      const s = yield* b.stats
      expect(s.unrouted).toBe(1)
      expect(s.subscriptions).toEqual([])
      expect(s.deliveries.total).toBe(1)
      // the name is free again
      yield* b.subscribe(Task, () => Effect.void, { name: "s" })
      expectBalanced(s)
    }).pipe(withBus())
  )
})
