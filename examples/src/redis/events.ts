/**
 * The events the example's processes share: one definition module, imported
 * by publisher and workers alike, so the payload types match across processes.
 */
import { Event } from "@eventfabric/core"
import { Schema } from "effect"

/** An order was placed. */
export const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
})

/** Everything the example routes through Redis. */
export const definitions = [OrderPlaced]

/** The connection every process uses. */
export const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
