import { describe, expect, it } from "@effect/vitest"
import { type Delivery, Errors, type EventBus } from "@eventfabric/core"
import { Transport } from "@eventfabric/transport"
import { Cause, Exit } from "effect"

const result = (
  deliveries: EventBus.PublishResult["deliveries"],
  status: EventBus.PublishResult["status"] = "delivered"
) => Exit.succeed({ id: "e-1", type: "orders.placed", status, deliveries, succeeded: 0, failed: 0 })

const outcome = (status: Delivery.Status, deadLettered = false): Delivery.Outcome => ({
  subscription: "s",
  status,
  deadLettered
})

describe("Transport.verdict", () => {
  it("acknowledges when every delivery succeeded, or nobody was subscribed", () => {
    expect(Transport.verdict(result([outcome("succeeded"), outcome("succeeded")]))._tag).toBe("ack")
    expect(Transport.verdict(result([]))._tag).toBe("ack")
  })

  it("acknowledges a failure a local dead-letter queue already stored", () => {
    expect(Transport.verdict(result([outcome("succeeded"), outcome("failed", true)]))._tag).toBe("ack")
  })

  it("hands back (nack) a failed, timed-out, overflowed or circuit-refused delivery nobody stored", () => {
    for (const status of ["failed", "timedOut", "overflowed", "rejected"] as const) {
      expect(Transport.verdict(result([outcome("succeeded"), outcome(status)]))._tag).toBe("nack")
    }
  })

  it("retains (neither ack nor nack) what was interrupted or refused by the bus", () => {
    expect(Transport.verdict(result([outcome("failed"), outcome("interrupted")]))._tag).toBe("retain")
    expect(Transport.verdict(result([], "interrupted"))._tag).toBe("retain")
    expect(Transport.verdict(Exit.fail(new Errors.BusClosedError({ type: "orders.placed" })))._tag).toBe("retain")
    expect(Transport.verdict(Exit.failCause(Cause.interrupt()))._tag).toBe("retain")
  })

  it("dead-letters as DecodeFailed a payload the bus refused, with its message", () => {
    const verdict = Transport.verdict(
      Exit.fail(new Errors.InvalidEvent({ type: "orders.placed", message: "bad total" }))
    )
    expect(verdict).toEqual({ _tag: "decodeFailed", message: "bad total" })
  })
})
