/**
 * The events the HTTP service accepts, and the registry that finds a
 * definition by name for untrusted input (`Validation.publishUnknown`).
 */
import { Event } from "@eventfabric/core"
import { Validation } from "@eventfabric/plugins"
import { Schema } from "effect"

/** An order placed over HTTP. `sku: "flaky"` fails fulfilment on its first attempt. */
export const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({
    orderId: Schema.String.check(Schema.isNonEmpty()),
    sku: Schema.String,
    quantity: Schema.Int.check(Schema.isGreaterThan(0))
  })
})

/** Every definition the service accepts from outside. */
export const registry = Validation.registry(OrderPlaced)
