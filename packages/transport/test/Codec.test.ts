import { describe, expect, it } from "@effect/vitest"
import { Envelope, Event } from "@eventfabric/core"
import { Codec } from "@eventfabric/transport"
import { Exit, Schema } from "effect"
import fc from "fast-check"

const Placed = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, total: Schema.Number })
})
const codec = Codec.make(Placed)
const full = Schema.decodeUnknownExit(Envelope.schema(Placed.payload))

const maybe = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined })

const valid = fc.record({
  id: fc.uuid(),
  type: fc.constant("orders.placed"),
  payload: fc.record({ orderId: fc.string(), total: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
  priority: fc.constantFrom("critical", "normal", "low"),
  publishedAt: fc.double({ noNaN: true, noDefaultInfinity: true }),
  attempt: fc.integer({ min: 1, max: 5 }),
  source: maybe(fc.string()),
  correlationId: maybe(fc.string()),
  traceparent: maybe(fc.string()),
  headers: maybe(fc.dictionary(fc.string(), fc.string()))
})
const junk = fc.oneof(
  fc.string(),
  fc.constant(""),
  fc.integer({ min: -2, max: 2 }),
  fc.double(),
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom("orders.other", "Orders.Placed", "urgent"),
  fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
  fc.array(fc.string())
)
const field = fc.constantFrom(
  "id",
  "type",
  "payload",
  "priority",
  "publishedAt",
  "attempt",
  "source",
  "correlationId",
  "traceparent",
  "headers"
)
/** Valid envelopes, and valid envelopes with one field replaced by junk (or removed). */
const envelopeLike = fc.oneof(
  valid,
  fc.tuple(valid, field, fc.option(junk, { nil: undefined })).map(([v, k, j]) => ({ ...v, [k]: j }))
)

describe("Codec", () => {
  it("decodes exactly what the full envelope Schema accepts, to the same value (fast path included)", () => {
    fc.assert(
      fc.property(envelopeLike, (input) => {
        const text = JSON.stringify(input)
        const mine = codec.decode(text)
        const reference = full(JSON.parse(text))
        const accepted = Exit.isSuccess(reference) && reference.value.type === "orders.placed"
        expect(Exit.isSuccess(mine)).toBe(accepted)
        if (Exit.isSuccess(mine) && Exit.isSuccess(reference)) expect(mine.value).toEqual(reference.value)
      }),
      { numRuns: 3_000 }
    )
  })

  it("names the bad path of a refused envelope and round-trips an encoded one", () => {
    const envelope = Envelope.make(Placed, { orderId: "o-1", total: 1 }, { headers: { a: "b" } }, 1_000)
    const text = codec.encode(envelope)
    expect(Exit.isSuccess(text) && codec.decode(text.value)).toStrictEqual(
      Exit.succeed(expect.objectContaining({ id: envelope.id, headers: { a: "b" } }))
    )
    const bad = codec.decode(JSON.stringify({ ...envelope, payload: { orderId: "o-1", total: "x" } }))
    expect(
      Exit.isFailure(bad) && String(bad.cause.reasons[0]?._tag === "Fail" && bad.cause.reasons[0].error)
    ).toContain(`["payload"]["total"]`)
  })
})
