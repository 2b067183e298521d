/**
 * The demo: define events, subscribe handlers of each kind (fast, slow,
 * failing), publish on every lane, then print what the bus counted.
 *
 * Run with `pnpm demo`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Event, EventBus, Selector } from "@eventfabric/core"
import { Console, Effect, Schema } from "effect"

const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
})
const IntrusionDetected = Event.define("security.intrusion_detected", {
  payload: Schema.Struct({ ip: Schema.String }),
  priority: "critical"
})
const CacheMetric = Event.define("telemetry.cache_hit", {
  payload: Schema.Struct({ ratio: Schema.Number }),
  priority: "low"
})

const program = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  let revenue = 0

  yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => (revenue += e.payload.total)), { name: "revenue" })
  yield* bus.subscribe(OrderPlaced, () => Effect.sleep("2 millis"), { name: "mailer", concurrency: 4 })
  yield* bus.subscribe(
    OrderPlaced,
    (e) => (e.payload.total > 900 ? Effect.fail(`fraud check failed for ${e.payload.orderId}`) : Effect.void),
    { name: "fraud" }
  )
  yield* bus.subscribe(IntrusionDetected, (e) => Console.log(`ALERT intrusion from ${e.payload.ip}`), { name: "pager" })
  yield* bus.subscribe(Selector.pattern("telemetry.*"), () => Effect.void, { name: "metrics" })
  let failures = 0
  yield* bus.subscribe(
    Event.HandlerFailed,
    (e) =>
      failures++ === 0
        ? Console.log(`first system.handler_error: ${e.payload.subscription}: ${e.payload.cause}`)
        : Effect.void,
    { name: "failures" }
  )

  for (let i = 0; i < 1000; i++) {
    yield* bus.publish(OrderPlaced, { orderId: `o-${i}`, total: i })
    yield* bus.publish(CacheMetric, { ratio: Math.random() })
  }
  yield* bus.publish(IntrusionDetected, { ip: "203.0.113.7" })

  const outcome = yield* bus.publishAndWait(OrderPlaced, { orderId: "o-big", total: 950 })
  yield* Console.log(
    `publishAndWait: ${outcome.succeeded} succeeded, ${outcome.failed} failed:`,
    outcome.deliveries.map((d) => `${d.subscription}=${d.status}`).join(" ")
  )

  yield* bus.drain
  const stats = yield* bus.stats
  yield* Console.log(`revenue ${revenue}, handler errors reported ${failures}`)
  yield* Console.log(
    `published ${stats.published} (+${stats.system.published} system), dispatched ${stats.dispatched}, dropped ${stats.dropped}, evicted ${stats.evicted}`
  )
  yield* Console.log(
    `deliveries: ${stats.deliveries.succeeded} succeeded, ${stats.deliveries.failed} failed, ` +
      `${stats.deliveries.timedOut} timed out, ${stats.deliveries.queued} queued, ${stats.deliveries.inFlight} in flight`
  )
  for (const s of stats.subscriptions) {
    yield* Console.log(
      `  ${s.name.padEnd(10)} ${String(s.succeeded).padStart(5)} ok ${String(s.failed).padStart(4)} failed`
    )
  }
}).pipe(Effect.scoped, Effect.provide(EventBus.EventBus.layer()))

NodeRuntime.runMain(program)
