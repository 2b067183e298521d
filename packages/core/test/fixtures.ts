import { Effect, Scheduler, Schema } from "effect"
import { Event, EventBus, type Options } from "../src/index.ts"

export const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
})
export const OrderShipped = Event.define("orders.shipped", {
  payload: Schema.Struct({ orderId: Schema.String })
})
export const PaymentFailed = Event.define("payments.failed", {
  payload: Schema.Struct({ orderId: Schema.String, reason: Schema.String })
})
export const Alarm = Event.define("security.alarm", {
  payload: Schema.Struct({ n: Schema.Number }),
  priority: "critical"
})
export const Tick = Event.define("telemetry.tick", {
  payload: Schema.Struct({ n: Schema.Number }),
  priority: "low"
})
export const Task = Event.define("tasks.done", {
  payload: Schema.Struct({ n: Schema.Number }),
  priority: "normal"
})

/** Runs `self` with a fresh bus built from `options`, closed when it ends. */
export const withBus = (options?: Options.BusOptions) => Effect.provide(EventBus.EventBus.layer(options))

/**
 * Publishing in one synchronous stretch: the dispatcher is woken through the
 * scheduler, so with yields disabled every publish lands before it runs.
 */
export const withoutYields = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provideService(self, Scheduler.MaxOpsBeforeYield, Number.MAX_SAFE_INTEGER)

export const bus = EventBus.EventBus
