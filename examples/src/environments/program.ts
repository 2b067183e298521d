/**
 * The one program the three environments run. It only asks for services
 * (`EventBus`, `DeadLetterQueue`); which plugins, stores and exporters stand
 * behind them is the environment's business (see `layers.ts`).
 */
import { Event, EventBus } from "@eventfabric/core"
import { DeadLetterQueue } from "@eventfabric/plugins"
import { Console, Effect, Schema } from "effect"

/** An order was placed. */
export const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)) }),
  key: (p) => p.orderId
})

/** What the program reports; the test reads it. */
export interface Report {
  readonly handled: ReadonlyArray<string>
  readonly deadLettered: ReadonlyArray<string>
  readonly published: number
  readonly deduplicated: number
}

/**
 * Subscribes a fulfilment handler that refuses orders above 1000, publishes
 * a few orders (one twice), waits for every delivery, then reports what was
 * handled and what landed in the dead-letter queue.
 */
export const program = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  const dlq = yield* DeadLetterQueue.DeadLetterQueue
  const handled: Array<string> = []
  const ids = new Set<string>()

  yield* bus.subscribe(
    OrderPlaced,
    (e) =>
      e.payload.total > 1000
        ? Effect.fail(`order ${e.payload.orderId} needs manual review`)
        : Effect.sync(() => handled.push(e.payload.orderId)),
    { name: "fulfilment" }
  )

  for (const [orderId, total] of [
    ["o-1", 10],
    ["o-2", 20],
    ["o-2", 20], // a repeat: suppressed where Dedup runs
    ["o-3", 5000]
  ] as const) {
    const result = yield* bus.publishAndWait(OrderPlaced, { orderId, total })
    ids.add(result.id)
  }
  yield* bus.drain

  const stats = yield* bus.stats
  // A shared (Redis) queue may hold other runs' entries: report this run's.
  const entries = (yield* dlq.list()).filter((e) => ids.has(e.envelope.id))
  const report: Report = {
    handled,
    deadLettered: entries.map((e) => `${e.subscription}:${(e.envelope.payload as { orderId: string }).orderId}`),
    published: stats.published,
    deduplicated: stats.deduplicated
  }
  yield* Console.log(`handled: ${report.handled.join(", ")}`)
  yield* Console.log(`dead-lettered: ${report.deadLettered.join(", ")}`)
  yield* Console.log(`published: ${report.published}, deduplicated: ${report.deduplicated}`)
  return report
}).pipe(Effect.scoped)
