import { describe, expect, it } from "@effect/vitest"
import { Envelope, Options } from "@eventfabric/core"
import { Codec } from "@eventfabric/transport"
import { Cause, Effect, Exit } from "effect"
import fc from "fast-check"
import { NatsOptions } from "../src/index.ts"
import { definitions, OrderPlaced } from "./fixtures.ts"

const junk = fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true })
const field = fc.constantFrom(
  "stream",
  "subjectPrefix",
  "storage",
  "duplicateWindow",
  "group",
  "consume",
  "startFrom",
  "maxDeliveries",
  "ackWait",
  "redelivery",
  "maxInFlight",
  "publishBuffer",
  "beforeEncode"
)

describe("NATS transport entry points under junk input", () => {
  it.effect("options: junk in any field is a typed InvalidOptions naming the field, never a defect", () =>
    Effect.sync(() =>
      fc.assert(
        fc.property(field, junk, (key, value) => {
          const exit = Effect.runSyncExit(
            Options.decode(NatsOptions.NatsOptions, "NatsTransport", { definitions, [key]: value })
          )
          if (Exit.isSuccess(exit)) return // junk that happens to be valid (e.g. a positive int)
          expect(Cause.hasDies(exit.cause)).toBe(false)
          const error = Cause.squash(exit.cause) as { _tag: string; message: string }
          expect(error._tag).toBe("InvalidOptions")
          expect(error.message).toContain(`["${key}"]`)
        }),
        { numRuns: 500 }
      )
    )
  )

  it.effect("publish encoding: a junk payload is a typed failure naming the payload, never a thrown error", () =>
    Effect.sync(() => {
      const codec = Codec.make(OrderPlaced)
      fc.assert(
        fc.property(junk, (payload) => {
          const envelope = Envelope.make(OrderPlaced, payload as never, undefined, 1)
          const exit = codec.encode(envelope)
          if (Exit.isFailure(exit)) {
            const reason = exit.cause.reasons[0]
            expect(reason?._tag).toBe("Fail")
            expect(String(reason?._tag === "Fail" ? reason.error : "")).toContain(`["payload"]`)
          }
        }),
        { numRuns: 500 }
      )
    })
  )
})
