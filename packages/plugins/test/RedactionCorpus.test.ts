import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Redaction from "../src/Redaction.ts"
import { keyed, ordinary, secrets } from "./fixtures/secrets.ts"

const redactor = Effect.runSync(Redaction.make())

const leaks = (output: unknown) => {
  const text = typeof output === "string" ? output : JSON.stringify(output)
  return secrets.filter((x) => text.includes(x.secret)).map((x) => `${x.kind}: ${x.secret}`)
}

describe("the redaction corpus", () => {
  it("holds at least 50 secrets in at least 15 classes", () => {
    expect(secrets.length).toBeGreaterThanOrEqual(50)
    expect(new Set(secrets.map((x) => x.kind)).size).toBeGreaterThanOrEqual(15)
  })

  it("no secret survives as a string value, in a sentence, in an array or as embedded JSON", () => {
    for (const x of secrets.filter((x) => x.kind !== "key")) {
      expect(leaks(redactor.string(x.text)), x.text).toEqual([])
      expect(leaks(redactor.string(`note: ${x.text} (copied)`)), x.text).toEqual([])
      expect(leaks(redactor.value({ note: x.text, lines: [x.text] })), x.text).toEqual([])
      expect(leaks(redactor.value({ body: JSON.stringify({ note: x.text }) })), x.text).toEqual([])
    }
  })

  it("no secret survives under sensitive keys, nested in objects and arrays", () => {
    expect(leaks(redactor.value(keyed(secrets)))).toEqual([])
  })

  it("no secret survives in headers, source or correlationId", () => {
    for (const x of secrets.filter((x) => x.kind !== "key")) {
      const out = redactor.redact({
        id: "e-1",
        type: "orders.placed",
        payload: {},
        priority: "normal",
        publishedAt: 0,
        attempt: 1,
        source: `svc ${x.text}`,
        correlationId: x.text,
        headers: { authorization: x.text, "x-note": x.text }
      })
      expect(leaks(out), x.text).toEqual([])
    }
  })

  it("ordinary text passes untouched: the false-positive rate over the ordinary set is 0", () => {
    const changed = ordinary.filter((line) => redactor.string(line) !== line)
    expect(changed).toEqual([])
    expect(ordinary.length).toBeGreaterThanOrEqual(60)
  })
})
