/**
 * The basics in one file: define an event, subscribe, publish, publish and
 * wait for every delivery, read the stats.
 *
 * Run with `pnpm example:basic` (from the repository root).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Event, EventBus } from "@eventfabric/core"
import { Console, Effect, Schema } from "effect"

/** 1. An event type: a `domain.action` name, a payload Schema, a default lane. */
export const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number }),
  priority: "normal"
})

/** The program: needs an `EventBus`, returns the stats at rest. */
export const program = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  let revenue = 0

  // 2. Subscribe. The handler is typed by the definition: `e.payload.total` is a number.
  //    The subscription lives as long as the current Scope.
  yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => (revenue += e.payload.total)), { name: "revenue" })
  yield* bus.subscribe(
    OrderPlaced,
    (e) => (e.payload.total > 100 ? Effect.fail(`card declined for ${e.payload.orderId}`) : Effect.void),
    { name: "payments" }
  )

  // 3. Publish: fire and forget. The receipt says `accepted`, `dropped` or `deduplicated`.
  const receipt = yield* bus.publish(OrderPlaced, { orderId: "o-1", total: 42 })
  yield* Console.log(`publish: ${receipt.status} on lane ${receipt.lane}`)

  // 4. Publish and wait until every subscription has handled the event.
  const result = yield* bus.publishAndWait(OrderPlaced, { orderId: "o-2", total: 250 })
  yield* Console.log(
    `publishAndWait: ${result.succeeded} succeeded, ${result.failed} failed (${result.deliveries
      .map((d) => `${d.subscription}=${d.status}`)
      .join(", ")})`
  )

  // 5. Stats: every publish and every delivery ends in a counted state.
  yield* bus.drain
  const stats = yield* bus.stats
  yield* Console.log(`revenue: ${revenue}`)
  yield* Console.log(
    `stats: published ${stats.published} (+${stats.system.published} system), dispatched ${stats.dispatched}, ` +
      `deliveries ${stats.deliveries.succeeded} succeeded / ${stats.deliveries.failed} failed`
  )
  return stats
}).pipe(Effect.scoped)

// 6. The bus is a Layer; provide it and run.
if (import.meta.main) NodeRuntime.runMain(program.pipe(Effect.provide(EventBus.EventBus.layer())))
