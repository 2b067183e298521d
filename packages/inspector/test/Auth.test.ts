import { assert, describe, it } from "@effect/vitest"
import { Option, Redacted } from "effect"
import * as fc from "fast-check"
import { Auth } from "../src/index.ts"

const token = Option.some(Redacted.make("s3cret-token"))

describe("Auth", () => {
  it("allows the right bearer token and refuses a missing, wrong or non-bearer one", () => {
    assert.strictEqual(Auth.check(token, "Bearer s3cret-token"), "allowed")
    assert.strictEqual(Auth.check(token, "bearer s3cret-token"), "allowed")
    assert.strictEqual(Auth.check(token, undefined), "unauthorized")
    assert.strictEqual(Auth.check(token, "Bearer s3cret-tokeN"), "unauthorized")
    assert.strictEqual(Auth.check(token, "Bearer s3cret-token-and-more"), "unauthorized")
    assert.strictEqual(Auth.check(token, "Basic s3cret-token"), "unauthorized")
    assert.strictEqual(Auth.check(token, "s3cret-token"), "unauthorized")
  })

  it("is read-only without a configured token, whatever the request carries", () => {
    assert.strictEqual(Auth.check(Option.none(), "Bearer anything"), "readOnly")
    assert.strictEqual(Auth.check(Option.none(), undefined), "readOnly")
  })

  it("allows a header exactly when it carries the configured token (property)", () => {
    const tokenChars = fc.stringMatching(/^[A-Za-z0-9._~+/=-]{1,48}$/)
    fc.assert(
      fc.property(tokenChars, tokenChars, (secret, guess) => {
        const verdict = Auth.check(Option.some(Redacted.make(secret)), `Bearer ${guess}`)
        assert.strictEqual(verdict, guess === secret ? "allowed" : "unauthorized")
        assert.strictEqual(Auth.check(Option.some(Redacted.make(secret)), `Bearer ${secret}`), "allowed")
      })
    )
  })
})
