import { describe, expect, it } from "@effect/vitest"
import { Delivery, type EventBus } from "@eventfabric/core"
import { Transport } from "@eventfabric/transport"
import { Cause, Data, Duration, Exit } from "effect"

// Stands in for @eventfabric/plugins' RetryLaterError, which the verdict knows by its tag and delay.
class RetryLaterError extends Data.TaggedError("RetryLaterError")<{ readonly delay: Duration.Duration }> {}

const result = (deliveries: EventBus.PublishResult["deliveries"]) =>
  Exit.succeed({ id: "e-1", type: "orders.placed", status: "delivered" as const, deliveries, succeeded: 0, failed: 0 })

const failed = (cause: unknown): Delivery.Outcome => ({
  subscription: "s",
  status: "failed",
  deadLettered: false,
  error: new Delivery.HandlerError({ subscription: "s", cause: Cause.fail(cause) })
})
const later = (ms: number) => failed(new RetryLaterError({ delay: Duration.millis(ms) }))

describe("Transport.verdict with Retry's delays", () => {
  it("hands back after the latest delay the failed deliveries asked for", () => {
    const verdict = Transport.verdict(
      result([later(300), { subscription: "t", status: "succeeded", deadLettered: false }, later(800)])
    )
    expect(verdict._tag).toBe("nack")
    expect(verdict._tag === "nack" && verdict.delay !== undefined ? Duration.toMillis(verdict.delay) : undefined).toBe(
      800
    )
  })

  it("uses the engine's own backoff when a failed delivery asked for no delay", () => {
    expect(Transport.verdict(result([later(300), failed("boom")]))).toEqual({ _tag: "nack" })
    expect(Transport.retryAfter(failed({ _tag: "RetryLaterError", delay: 5 }).error)).toBeUndefined()
  })

  it("acknowledges when the delivery that asked for a delay was dead-lettered", () => {
    expect(Transport.verdict(result([{ ...later(300), deadLettered: true }]))._tag).toBe("ack")
  })
})
