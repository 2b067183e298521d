import { assert, describe, it } from "@effect/vitest"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { CircuitBreaker, DeadLetter, DeadLetterQueue } from "@eventfabric/plugins"
import { Transport } from "@eventfabric/transport"
import {
  ConfigProvider,
  Context,
  Deferred,
  type Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Schema,
  Scope
} from "effect"
import { TestClock } from "effect/testing"
import { BusRecords, HandleTime, Inspector } from "../src/index.ts"

const Charge = Event.define("payments.charged", { payload: Schema.Struct({ n: Schema.Number }) })

/** The state of the switch a test flips to make the gateway fail. */
const gateway = { down: true }

const Bus = EventBus.EventBus.layer().pipe(
  Layer.provide(
    Plugin.layer(
      DeadLetter.plugin(),
      CircuitBreaker.plugin({ failures: 2, openDuration: "1 second" }),
      HandleTime.plugin()
    )
  ),
  Layer.provideMerge(DeadLetterQueue.layerMemory()),
  Layer.provideMerge(HandleTime.HandleTimes.layer)
)

/** An interval longer than any test: the tests take samples themselves. */
const Live = (options: Inspector.InspectorOptions = {}) =>
  Inspector.Inspector.layer({ interval: "1 hour", ...options }).pipe(
    Layer.provideMerge(Bus),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
  )

/** The inspector alone, over a bus from elsewhere. */
const Live0 = Inspector.Inspector.layer({ interval: "1 hour" }).pipe(
  Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
)

const settle = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  const drained = yield* Effect.forkChild(bus.drain)
  yield* TestClock.adjust("1 millis")
  yield* Fiber.join(drained)
})

const circuitOf = (name: string) =>
  Effect.gen(function* () {
    const inspector = yield* Inspector.Inspector
    const update = yield* inspector.sampleNow
    return update.sample.subscriptions.find((s) => s.name === name)?.circuit?.state
  })

describe("Inspector", () => {
  it.effect("follows a circuit from the CircuitBreaker's events: open, half-open when its probe is due, closed", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      gateway.down = true
      yield* bus.subscribe(Charge, () => (gateway.down ? Effect.fail("gateway 503") : Effect.void), {
        name: "gateway"
      })
      assert.isUndefined(yield* circuitOf("gateway"))
      for (const n of [1, 2]) yield* bus.publish(Charge, { n })
      yield* settle
      assert.strictEqual(yield* circuitOf("gateway"), "open")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* circuitOf("gateway"), "half-open")
      gateway.down = false
      yield* bus.publish(Charge, { n: 3 })
      yield* settle
      assert.strictEqual(yield* circuitOf("gateway"), "closed")
    }).pipe(Effect.provide(Live()))
  )

  it.effect("keeps the latest system events, bounded, with payloads through the Redactor", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const inspector = yield* Inspector.Inspector
      yield* bus.subscribe(Charge, (e) => Effect.fail(`card of bob@example.com declined (${e.payload.n})`), {
        name: "declines"
      })
      // One failure per busy period: the bus coalesces the reports of one burst into one.
      for (let n = 0; n < 8; n++) {
        yield* bus.publish(Charge, { n })
        yield* settle
      }
      const events = yield* inspector.events()
      assert.strictEqual(events.length, 3)
      assert.isTrue(events.every((e) => e.type.startsWith("system.")))
      assert.notInclude(JSON.stringify(events), "bob@example.com")
      const update = yield* inspector.sampleNow
      assert.deepStrictEqual(
        update.events.map((e) => e.seq),
        events.map((e) => e.seq)
      )
      const again = yield* inspector.sampleNow
      assert.strictEqual(again.events.length, 0)
    }).pipe(Effect.provide(Live({ events: 3 })))
  )

  it.effect("samples lanes, subscriptions, handle times and the DLQ, and keeps chart points up to its history", () =>
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const inspector = yield* Inspector.Inspector
      yield* bus.subscribe(Charge, (e) => (e.payload.n % 2 === 0 ? Effect.void : Effect.fail("odd")), {
        name: "even-only"
      })
      yield* inspector.sampleNow
      for (let n = 0; n < 10; n++) yield* bus.publish(Charge, { n })
      yield* settle
      yield* TestClock.adjust("1 second")
      const { sample } = yield* inspector.sampleNow
      const sub = sample.subscriptions.find((s) => s.name === "even-only")!
      assert.strictEqual(sub.succeeded, 5)
      assert.strictEqual(sub.failed, 5)
      assert.strictEqual(sub.handleTime?.count, 10)
      assert.strictEqual(sample.dlq?.size, 5)
      assert.strictEqual(sample.lanes.find((l) => l.name === "normal")?.accepted, 10)
      assert.isAbove(sample.point.published, 0)
      assert.isUndefined(sample.subscriptions.find((s) => s.name === Inspector.subscriptionName))
      for (let i = 0; i < 5; i++) yield* inspector.sampleNow
      assert.strictEqual((yield* inspector.history).length, 4)
    }).pipe(Effect.provide(Live({ history: 4 })))
  )

  it.effect(
    "shows what the bus runs: a keyed subscription as keyed, a full dropping mailbox as full and dropping",
    () =>
      Effect.gen(function* () {
        const bus = yield* EventBus.EventBus
        const inspector = yield* Inspector.Inspector
        const gate = yield* Deferred.make<void>()
        yield* bus.subscribe(Charge, () => Effect.void, {
          name: "per-card",
          concurrency: 4,
          orderBy: (e) => e.payload.n % 3
        })
        yield* bus.subscribe(Charge, () => Deferred.await(gate), {
          name: "slow-ledger",
          mailbox: { capacity: 4, strategy: "dropping" }
        })
        for (let n = 0; n < 10; n++) yield* bus.publish(Charge, { n })
        yield* TestClock.adjust("1 millis")
        const { sample } = yield* inspector.sampleNow
        const keyed = sample.subscriptions.find((s) => s.name === "per-card")!
        const slow = sample.subscriptions.find((s) => s.name === "slow-ledger")!
        assert.strictEqual(keyed.keyed, true)
        assert.strictEqual(keyed.selector, "payments.charged")
        assert.strictEqual(keyed.concurrency, 4)
        assert.strictEqual(slow.keyed, false)
        assert.strictEqual(slow.mailbox.strategy, "dropping")
        assert.strictEqual(slow.mailbox.capacity, 4)
        // One delivery runs (the worker is busy), four wait, five were refused.
        assert.strictEqual(slow.busy, 1)
        assert.strictEqual(slow.mailbox.fullest, 4)
        assert.strictEqual(slow.mailbox.fill, 1)
        assert.deepStrictEqual(
          slow.mailbox.lanes.map((l) => [l.name, l.queued]),
          [
            ["critical", 0],
            ["normal", 4],
            ["low", 0]
          ]
        )
        assert.strictEqual(slow.overflowed, 5)
        yield* Deferred.succeed(gate, undefined)
        yield* settle
      }).pipe(Effect.provide(Live()))
  )

  it.effect("lists the bus stopping and stopped among the system events when the bus stops before it", () =>
    Effect.gen(function* () {
      // The bus in a scope of its own: it can stop while the inspector runs.
      const busScope = yield* Scope.make()
      const busContext = yield* Layer.buildWithScope(
        EventBus.EventBus.layer().pipe(
          Layer.provide(Plugin.layer(BusRecords.plugin())),
          Layer.provideMerge(BusRecords.layer)
        ),
        busScope
      )
      const inspector = yield* Layer.build(Live0).pipe(
        Effect.map((context) => Context.get(context, Inspector.Inspector)),
        Effect.provide(busContext)
      )
      const bus = Context.get(busContext, EventBus.EventBus)
      yield* bus.subscribe(Charge, () => Effect.void, { name: "ledger" })
      for (let n = 0; n < 3; n++) yield* bus.publish(Charge, { n })
      yield* inspector.sampleNow
      yield* Scope.close(busScope, Exit.void)
      const { sample, events } = yield* inspector.sampleNow
      assert.isTrue(sample.closed)
      assert.deepStrictEqual(
        events.map((e) => e.type),
        ["system.bus_stopping", "system.bus_stopped"]
      )
      const stopped = events[1]!.payload as { published: number; succeeded: number }
      assert.strictEqual(stopped.published, 3)
      assert.strictEqual(stopped.succeeded, 3)
    }).pipe(Effect.scoped)
  )

  it.effect("lists transports by their counters, flattened one level, and one that fails as unavailable", () =>
    Effect.gen(function* () {
      const inspector = yield* Inspector.Inspector
      const { sample } = yield* inspector.sampleNow
      assert.deepStrictEqual(sample.transports, [
        {
          name: "redis orders",
          fields: { stream: "ef:orders.placed", group: "billing", pending: 3, "consumer.redeliveries": 2 }
        },
        { name: "nats", fields: { error: "stats unavailable" } }
      ])
    }).pipe(
      Effect.provide(
        Live({
          transports: [
            {
              name: "redis orders",
              stats: Effect.succeed({
                stream: "ef:orders.placed",
                group: "billing",
                pending: 3,
                consumer: { redeliveries: 2, list: [1] },
                ignored: [1, 2]
              })
            },
            { name: "nats", stats: Effect.fail("connection refused") }
          ]
        })
      )
    )
  )

  it.effect("lists the Transport service in context by its engine's name, with its counters", () =>
    Effect.gen(function* () {
      const inspector = yield* Inspector.Inspector
      const { sample } = yield* inspector.sampleNow
      assert.deepStrictEqual(sample.transports, [{ name: "redis", fields: { received: 7, redelivered: 1 } }])
    }).pipe(
      Effect.provide(
        Live().pipe(
          Layer.provide(
            Layer.succeed(
              Transport.Transport,
              Transport.Transport.of({
                engine: "redis",
                stats: Effect.succeed({ received: 7, redelivered: 1 })
              } as unknown as Transport.Service)
            )
          )
        )
      )
    )
  )

  it.effect("fails its layer with InvalidOptions naming the path of a bad option", () =>
    Effect.gen(function* () {
      const error = yield* Layer.build(Live({ history: 0 })).pipe(Effect.flip)
      assert.strictEqual(error._tag, "InvalidOptions")
      assert.include(error.message, "history")
      const interval = yield* Layer.build(Live({ interval: "soon" as Duration.Input })).pipe(Effect.flip)
      assert.include(interval.message, "interval")
    })
  )

  it.effect("reads its token from EVENTFABRIC_INSPECTOR_TOKEN and is read-only when it is absent or empty", () =>
    Effect.gen(function* () {
      const read = (env: Record<string, string>) =>
        Effect.gen(function* () {
          return Option.isSome(yield* Inspector.TokenConfig)
        }).pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))
      assert.isTrue(yield* read({ EVENTFABRIC_INSPECTOR_TOKEN: "s3cret" }))
      assert.isFalse(yield* read({ EVENTFABRIC_INSPECTOR_TOKEN: "" }))
      assert.isFalse(yield* read({}))
    })
  )
})
