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
const junk = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.double())

/** Envelope-shaped objects, mostly valid, each field sometimes junk. */
const envelopeLike = fc.record(
  {
    id: fc.oneof(fc.uuid(), fc.constant(""), junk),
    type: fc.oneof(fc.constant("orders.placed"), fc.constant("orders.other"), junk),
    payload: fc.oneof(fc.record({ orderId: fc.string(), total: fc.oneof(fc.double(), fc.string()) }), junk),
    priority: fc.oneof(fc.constantFrom("critical", "normal", "low"), junk),
    publishedAt: fc.oneof(fc.double(), fc.integer(), junk),
    attempt: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double(), junk),
    source: maybe(fc.oneof(fc.string(), junk)),
    correlationId: maybe(fc.oneof(fc.string(), junk)),
    traceparent: maybe(fc.string()),
    headers: maybe(fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), junk))
  },
  { requiredKeys: [] }
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
      { numRuns: 2_000 }
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
