import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Delivery, Errors, Event, EventBus, Facade, type Options, Selector } from "../src/index.ts"
import { OrderPlaced, OrderShipped, Task, Tick } from "./fixtures.ts"
import { expectBalanced } from "./invariants.ts"

const make = (options?: Options.BusOptions, facade?: Facade.FacadeOptions) =>
  Facade.make(EventBus.EventBus.layer(options), facade)

/** Resolves when `condition` holds, polling; fails the test after `ms`. */
const until = async (condition: () => boolean, ms = 2_000) => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The facade's own sum: every emit is counted by the bus or by the facade. */
const expectEmitsAccounted = (s: Facade.FacadeStats) =>
  expect(s.facade.emitted).toBe(s.published + s.refused + s.facade.overflowed + s.facade.pending)

describe("Facade", () => {
  it("emit works from plain synchronous code, timers, microtasks, fibers and handlers, and never throws", async () => {
    const errors: Array<Facade.EmitError> = []
    const bus = await make(undefined, { onError: (e) => errors.push(e) })
    const seen: Array<number> = []
    bus.on(Task, (e) => void seen.push(e.payload.n), { name: "collect" })
    // a sync handler and an async one that emit in turn
    bus.on(
      OrderPlaced,
      (e) => {
        bus.emit(Task, { n: 100 + e.payload.total })
      },
      { name: "sync-relay" }
    )
    bus.on(
      OrderShipped,
      async () => {
        await sleep(1)
        bus.emit(Task, { n: 200 })
      },
      { name: "async-relay" }
    )

    // 1. plain synchronous code: no fiber, no await before it
    const plain = () => {
      for (let n = 0; n < 10; n++) bus.emit(Task, { n })
    }
    expect(plain).not.toThrow()
    // 2. a timer callback and a microtask
    setTimeout(() => bus.emit(Task, { n: 10 }), 0)
    queueMicrotask(() => bus.emit(Task, { n: 11 }))
    process.nextTick(() => bus.emit(Task, { n: 12 }))
    // 3. inside a running fiber, synchronously (runSync would throw if emit needed to suspend it)
    Effect.runSync(Effect.sync(() => bus.emit(Task, { n: 13 })))
    // 4. from handlers, sync and async
    bus.emit(OrderPlaced, { orderId: "o", total: 1 })
    bus.emit(OrderShipped, { orderId: "o" })

    await until(() => seen.length === 16)
    await bus.drain()
    expect(seen.slice(0, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 101, 200])
    expect(errors).toEqual([])
    const stats = bus.stats()
    expectBalanced(stats)
    expectEmitsAccounted(stats)
    expect(stats.facade.emitted).toBe(18)
    await bus.close()
  })

  it("emitAndWait resolves with succeeded, failed and the delivery errors", async () => {
    const bus = await make()
    bus.on(OrderPlaced, () => {}, { name: "ok" })
    bus.on(
      OrderPlaced,
      () => {
        throw new Error("sync throw")
      },
      { name: "throws" }
    )
    bus.on(
      OrderPlaced,
      async () => {
        await sleep(1)
        throw new Error("async reject")
      },
      { name: "rejects" }
    )
    const result = await bus.emitAndWait(OrderPlaced, { orderId: "o-1", total: 3 })
    expect(result.status).toBe("delivered")
    expect(result.succeeded).toBe(1)
    expect(result.failed).toBe(2)
    expect(result.errors.map((e) => [e._tag, e.subscription]).sort()).toEqual([
      ["HandlerError", "rejects"],
      ["HandlerError", "throws"]
    ])
    expect(result.errors.map((e) => e.message).join("\n")).toMatch(/async reject[\s\S]*|sync throw/)
    const nobody = await bus.emitAndWait(OrderShipped, { orderId: "o-1" })
    expect(nobody).toMatchObject({ status: "delivered", succeeded: 0, failed: 0, errors: [] })
    await bus.drain()
    const stats = bus.stats()
    expect(stats.deliveries).toMatchObject({ succeeded: 1, failed: 2 })
    expectBalanced(stats)
    await bus.close()
  })

  it("refusals go to onError, typed, and are counted by the bus; a throwing onError does not make emit throw", async () => {
    const errors: Array<Facade.EmitError> = []
    const bus = await make(
      { lanes: { normal: { capacity: 1, strategy: "dropping" }, low: { capacity: 1, strategy: "fail" } } },
      {
        onError: (e) => {
          errors.push(e)
          throw new Error("onError itself throws")
        }
      }
    )
    // one synchronous stretch: the dispatcher cannot run between the emits
    expect(() => {
      bus.emit(Task, { n: 1 })
      bus.emit(Task, { n: 2 }) // dropped
      bus.emit(Tick, { n: 1 })
      bus.emit(Tick, { n: 2 }) // BackpressureError
    }).not.toThrow()
    expect(errors.map((e) => e._tag)).toEqual(["EventDropped", "BackpressureError"])
    expect(errors[0]).toBeInstanceOf(Facade.EventDropped)
    expect(errors[0]).toMatchObject({ type: "tasks.done", lane: "normal" })
    expect(errors[1]).toBeInstanceOf(Errors.BackpressureError)
    await bus.drain()
    const stats = bus.stats()
    expect(stats.lanes.normal.dropped).toBe(1)
    expect(stats.lanes.low.dropped).toBe(1)
    expect(stats.facade.errors).toBe(2)
    expectBalanced(stats)
    expectEmitsAccounted(stats)
    await bus.close()
  })

  it("on takes pattern strings; the unsubscribe function, off by name and off by handler all stop deliveries", async () => {
    const bus = await make()
    const byPattern: Array<string> = []
    const a: Array<string> = []
    const b: Array<string> = []
    const shared = (e: { readonly type: string }) => void b.push(e.type)
    const unsubscribe = bus.on("orders.*", (e) => void byPattern.push(e.type), { name: "pattern" })
    expect(unsubscribe.subscription).toBe("pattern")
    bus.on(Selector.pattern("orders.placed"), (e) => void a.push(e.type), { name: "named" })
    bus.on(OrderPlaced, shared, { name: "h1" })
    bus.on(OrderShipped, shared, { name: "h2" })

    bus.emit(OrderPlaced, { orderId: "1", total: 1 })
    bus.emit(OrderShipped, { orderId: "1" })
    await bus.drain()
    expect(byPattern).toEqual(["orders.placed", "orders.shipped"])
    expect(a).toEqual(["orders.placed"])
    expect(b.sort()).toEqual(["orders.placed", "orders.shipped"])

    await unsubscribe()
    await unsubscribe() // harmless
    await bus.off("named")
    await bus.off(shared)
    expect(bus.stats().subscriptions).toEqual([])
    bus.emit(OrderPlaced, { orderId: "2", total: 2 })
    await bus.drain()
    expect(byPattern.length + a.length + b.length).toBe(5)
    expect(bus.stats().unrouted).toBe(1)
    await bus.close()
  })

  it("once handles exactly one event, then unsubscribes", async () => {
    const bus = await make()
    const got: Array<number> = []
    const others: Array<number> = []
    bus.once(Task, (e) => void got.push(e.payload.n), { name: "first" })
    bus.on(Task, (e) => void others.push(e.payload.n), { name: "all" })
    for (let n = 0; n < 5; n++) bus.emit(Task, { n })
    await bus.drain()
    await until(() => bus.stats().subscriptions.length === 1)
    expect(got).toEqual([0])
    expect(others).toEqual([0, 1, 2, 3, 4])
    expect(bus.stats().subscriptions.map((s) => s.name)).toEqual(["all"])
    await bus.close()
  })

  it("bad subscribe options and a name in use throw InvalidOptions at once", async () => {
    const bus = await make()
    bus.on(Task, () => {}, { name: "taken" })
    expect(() => bus.on(Task, () => {}, { name: "taken" })).toThrow(/in use/)
    expect(() => bus.on(Task, () => {}, { concurrency: 0 })).toThrow(Errors.InvalidOptions)
    expect(() => bus.on("Not A Pattern", () => {})).toThrow(TypeError)
    await bus.close()
  })

  it("a handler that runs past its timeout sees its AbortSignal abort and the delivery times out", async () => {
    const bus = await make()
    let aborted = false
    bus.on(
      Task,
      (_e, signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            aborted = true
            resolve()
          })
        }),
      { name: "slow", timeout: "20 millis" }
    )
    const result = await bus.emitAndWait(Task, { n: 1 })
    expect(result.deliveries[0]?.status).toBe("timedOut")
    expect(result.errors[0]).toBeInstanceOf(Delivery.HandlerTimeout)
    expect(aborted).toBe(true)
    await bus.close()
  })

  it("emits wait behind a full suspend lane in call order; past maxPending they are refused and counted", async () => {
    const errors: Array<Facade.EmitError> = []
    const bus = await make(
      { lanes: { normal: { capacity: 1, strategy: "suspend" } } },
      { maxPending: 5, onError: (e) => errors.push(e) }
    )
    const seen: Array<number> = []
    bus.on(Task, (e) => void seen.push(e.payload.n), { name: "ordered" })
    for (let n = 0; n < 20; n++) bus.emit(Task, { n })
    // 1 enqueued, 1 waiting for room, 5 in the facade's buffer, 13 refused
    expect(bus.stats().facade).toMatchObject({ emitted: 20, pending: 5, overflowed: 13 })
    expect(errors.length).toBe(13)
    expect(errors.every((e) => e instanceof Facade.EmitOverflow)).toBe(true)
    await bus.drain()
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6])
    const stats = bus.stats()
    expect(stats.published).toBe(7)
    expectBalanced(stats)
    expectEmitsAccounted(stats)
    await bus.close()
  })

  it("keeps call order across a full suspend lane under load", async () => {
    const bus = await make({ lanes: { normal: { capacity: 16, strategy: "suspend" } } })
    const seen: Array<number> = []
    bus.on(
      Task,
      async (e) => {
        if (e.payload.n % 1000 === 0) await sleep(0)
        seen.push(e.payload.n)
      },
      { name: "ordered", mailbox: 10_000 }
    )
    for (let n = 0; n < 5_000; n++) bus.emit(Task, { n })
    expect(bus.stats().facade.pending).toBeGreaterThan(4_000)
    await bus.drain()
    expect(seen.length).toBe(5_000)
    expect(seen.every((n, i) => n === i)).toBe(true)
    expectBalanced(bus.stats())
    await bus.close()
  })

  it("close under load: everything emitted before close is delivered, nothing is lost, later emits are refused typed", async () => {
    const errors: Array<Facade.EmitError> = []
    const bus = await make(
      { lanes: { normal: { capacity: 64, strategy: "suspend" } } },
      { onError: (e) => errors.push(e) }
    )
    let sync = 0
    let async = 0
    bus.on(Task, () => void sync++, { name: "sync", mailbox: 10_000 })
    bus.on(
      Task,
      async () => {
        await Promise.resolve()
        async++
      },
      { name: "async", mailbox: 10_000, concurrency: 8 }
    )
    for (let n = 0; n < 5_000; n++) bus.emit(Task, { n })
    const pendingAtClose = bus.stats().facade.pending
    expect(pendingAtClose).toBeGreaterThan(0)
    const closing = bus.close()
    expect(bus.isClosed()).toBe(true)
    bus.emit(Task, { n: -1 }) // during close
    const lateWait = bus.emitAndWait(Task, { n: -2 })
    await closing
    await expect(lateWait).rejects.toBeInstanceOf(Errors.BusClosedError)
    bus.emit(Task, { n: -3 }) // after close
    expect(() => bus.on(Task, () => {})).toThrow(Errors.InvalidOptions)

    expect(sync).toBe(5_000)
    expect(async).toBe(5_000)
    const stats = bus.stats()
    expect(stats.closed).toBe(true)
    expect(stats.published).toBe(5_000)
    expect(stats.refused).toBe(3)
    expect(stats.deliveries).toMatchObject({ total: 10_000, succeeded: 10_000, interrupted: 0 })
    expect(stats.facade).toMatchObject({ emitted: 5_003, pending: 0, overflowed: 0, errors: 3 })
    expectBalanced(stats)
    expectEmitsAccounted(stats)
    expect(errors.map((e) => e._tag)).toEqual(["BusClosedError", "BusClosedError"])
    await bus.close() // idempotent
    await bus.drain() // resolves at once once stopped
  })

  it("a layer that fails to build rejects make with its typed error; bad facade options too", async () => {
    const bad = Facade.make(
      EventBus.EventBus.layer({ lanes: { critical: { capacity: 1, strategy: "dropping" as any } } })
    )
    await expect(bad).rejects.toBeInstanceOf(Errors.InvalidOptions)
    await expect(bad).rejects.toThrow(/CRITICAL never drops/)
    await expect(make(undefined, { maxPending: 0 })).rejects.toThrow(/maxPending/)
  })

  it("the runtime runs other effects against the same services", async () => {
    const Greeting = Event.define("greetings.sent", { payload: Schema.Struct({ to: Schema.String }) })
    const bus = await Facade.make(EventBus.EventBus.layer())
    const seen: Array<string> = []
    bus.on(Greeting, (e) => void seen.push(e.payload.to))
    await bus.runtime.runPromise(
      Effect.flatMap(EventBus.EventBus, (b) => Effect.andThen(b.publish(Greeting, { to: "ada" }), b.drain))
    )
    expect(seen).toEqual(["ada"])
    await bus.close()
  })
})
