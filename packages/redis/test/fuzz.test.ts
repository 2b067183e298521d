import { describe, expect, it } from "@effect/vitest"
import { Options } from "@eventfabric/core"
import { Cause, Effect, Exit } from "effect"
import fc from "fast-check"
import { TransportOptions } from "../src/index.ts"
import { definitions } from "./fixtures/definitions.ts"

const junk = fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true })
const field = fc.constantFrom(
  "prefix",
  "group",
  "consumer",
  "consume",
  "maxLen",
  "readCount",
  "block",
  "claimIdle",
  "maxDeliveries",
  "maxInFlight",
  "dedup",
  "startFrom",
  "publishBuffer",
  "publishBatch",
  "redelivery",
  "beforeEncode"
)

describe("Redis transport options under junk input", () => {
  it.effect("junk in any field is a typed InvalidOptions naming the field, never a defect", () =>
    Effect.sync(() =>
      fc.assert(
        fc.property(field, junk, (key, value) => {
          const exit = Effect.runSyncExit(
            Options.decode(TransportOptions.TransportOptions, "RedisTransport", { definitions, [key]: value })
          )
          if (Exit.isSuccess(exit)) return // junk that happens to be valid
          expect(Cause.hasDies(exit.cause)).toBe(false)
          const error = Cause.squash(exit.cause) as { _tag: string; message: string }
          expect(error._tag).toBe("InvalidOptions")
          expect(error.message).toContain(`["${key}"]`)
        }),
        { numRuns: 500 }
      )
    )
  )
})
