import { describe, expect, it } from "@effect/vitest"
import { type Envelope, type Errors, Event, EventBus, Plugin } from "@eventfabric/core"
import { Effect, Exit, Layer, Redacted, Schema } from "effect"
import { normalizeKey } from "../src/internal/redaction.ts"
import * as Redaction from "../src/Redaction.ts"

const redactor = Effect.runSync(Redaction.make())

const pem = [
  "-----BEGIN PRIVATE KEY-----",
  "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
  "-----END PRIVATE KEY-----"
].join("\n")

/** Positive samples per class: each must be masked with that class's label. */
const positives: Record<string, ReadonlyArray<string>> = {
  email: ["alice.smith+tag@example.co.uk", "bob@mail.example.com"],
  phone_us: ["(415) 555-2671", "415-555-2671", "415.555.2671", "+1 415 555 2671"],
  phone_international: ["+44 20 7946 0958", "+33 1 23 45 67 89", "+49-30-1234-5678", "+49 30 901820"],
  phone_e164: ["+14155552671", "+442079460958"],
  ipv4: ["192.168.1.20", "10.0.0.1", "8.8.8.8"],
  ipv6: ["2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:db8::ff00:42:8329", "fe80::1ff:fe23:4567:890a", "::1"],
  aws_access_key_id: ["AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A"],
  aws_secret_access_key: ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
  aws_arn: ["arn:aws:iam::123456789012:user/alice", "arn:aws:s3:::my-bucket/key.txt"],
  gcp_api_key: ["AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"],
  gcp_service_account: ["deployer@my-project-123.iam.gserviceaccount.com"],
  private_key: [pem],
  jwt: ["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"],
  github_token: ["ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv"],
  gitlab_token: ["glpat-xY9zA8bC7dE6fG5hI4jK"],
  slack_token: ["xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp", "xoxp-1234567890-abcdefghij"],
  slack_webhook: ["https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"],
  stripe_key: [
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "rk_test_51H8abcdefGHIJKLmnop",
    "whsec_abcdefghijklmnopqrstuvwxyz12"
  ],
  bearer: ["Bearer abc123def456ghi789", "Basic dXNlcjpwYXNzd29yZA=="],
  base64_secret: ["q8Zr3Vn5Lx2Kp7Wt9Bh4Jd6Fs1Gm0Yc3Ue8Ri5Oa2Nz7Xv4Q="],
  url_password: ["postgres://admin:s3cr3t-pw@db.internal:5432/app", "https://user:hunter2@example.com/x"],
  url_query_secret: ["https://api.example.com/login?user=al&password=hunter2", "/cb?code=4/0AbCdEf&state=x"],
  connection_string_secret: [
    "Server=db;Database=app;User Id=sa;Password=Pa55 word!;",
    "AccountName=acct;AccountKey=Zm9vYmFy=="
  ],
  assigned_secret: ["password: hunter2", "api_key=k-1234567", '{"token":"abc123xyz"}'],
  credit_card: ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "4242424242424242"],
  ssn: ["123-45-6789", "078-05-1120"]
}

/** Ordinary values that no class may touch. */
const negatives: Record<string, ReadonlyArray<string>> = {
  email: ["alice at example dot com", "@handle", "price@", "a@b"],
  phone_us: ["ORD-415-5552", "2026-01-15", "12345", "call 555-1234"],
  phone_international: ["+5 points", "1 23 45 67", "score +3 - 2"],
  phone_e164: ["+1234", "14155552671"],
  ipv4: ["256.1.1.1", "1.2.3", "19.99", "v1.2"],
  ipv6: ["12:30:45", "2026-01-15T10:20:30Z", "a:b:c", "std::vector", "ab:cd"],
  aws_access_key_id: ["AKIA1234", "akiaiosfodnn7example"],
  aws_secret_access_key: ["3f786850e387550fdab836ed7e6dc881de23001b"],
  aws_arn: ["arn is a word", "urn:isbn:0451450523"],
  gcp_api_key: ["AIza short", "AIzaSy"],
  gcp_service_account: ["the iam.gserviceaccount.com domain"],
  private_key: ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "a private key"],
  jwt: ["eyJ", "a.b.c", "eyJhbGciOi"],
  github_token: ["ghp_short", "ghost_writer"],
  gitlab_token: ["glpat-abc", "gl-pattern"],
  slack_token: ["xoxo hugs", "xoxb-"],
  slack_webhook: ["https://hooks.slack.com/", "https://slack.com/services"],
  stripe_key: ["pk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_", "risk_live_score"],
  bearer: ["bearer of bad news", "Basic plan", "Token ring"],
  base64_secret: [
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "/api/v1/orders/12345/items/67890/details/summary",
    "order_2026_01_15_customer_00001234_line_items_total"
  ],
  url_password: ["https://example.com/path?q=1", "https://example.com:8443/x", "mailto:someone"],
  url_query_secret: ["https://example.com/orders?page=2&sort=asc", "/search?q=password+reset"],
  connection_string_secret: ["Server=db;Database=app;Trusted_Connection=True;", "a=1; b=2"],
  assigned_secret: ["reset your password: see the docs", "token: [REDACTED]", "the secret ingredient"],
  credit_card: ["4111 1111 1111 1112", "1234567890123456", "1736937630123"],
  ssn: ["000-12-3456", "666-12-3456", "123-00-4567"]
}

/** Ordinary payload values: ids, UUIDs, timestamps, prices, order numbers. */
const ordinary = [
  "550e8400-e29b-41d4-a716-446655440000",
  "01HZX3K9Q8M2V7T4N6P1R5S0WY",
  "2026-01-15T10:20:30.123Z",
  "2026-01-15",
  "10:20:30",
  "19.99",
  "$1,234.56",
  "EUR 1.234,56",
  "ORD-20260115-0001",
  "order 123456",
  "SKU-AB-1234",
  "user_01HZX3K9Q8",
  "v1.2.3",
  "Hello, world!",
  "a perfectly normal sentence about orders and shipping",
  "https://example.com/orders/123?page=2",
  "inv_2026_000042",
  "42",
  "1736937630123"
]

describe("Redaction", () => {
  it("covers 20+ pattern classes and 47 distinct keys", () => {
    expect(Redaction.classes.length).toBeGreaterThanOrEqual(20)
    expect(Object.keys(positives).sort()).toEqual([...Redaction.classes].sort())
    expect(Object.keys(negatives).sort()).toEqual([...Redaction.classes].sort())
    expect(new Set(Redaction.keys.map(normalizeKey)).size).toBe(47)
  })

  describe("patterns", () => {
    for (const name of Redaction.classes) {
      it(`${name}: positives masked, with the label, in context`, () => {
        for (const sample of positives[name]!) {
          const out = redactor.string(`before ${sample} after`)
          expect(out, sample).toContain(`[REDACTED:${name}]`)
          expect(out.startsWith("before "), sample).toBe(true)
          expect(out.endsWith(" after"), sample).toBe(true)
          if (name !== "url_password" && name !== "bearer") expect(out, sample).not.toContain(sample)
        }
      })
      it(`${name}: negatives survive every class`, () => {
        for (const sample of negatives[name]!) {
          expect(redactor.string(sample), sample).toBe(sample)
          expect(redactor.string(`see ${sample} here`), sample).toBe(`see ${sample} here`)
        }
      })
    }

    it("masks only the secret part of URL passwords and credentials", () => {
      expect(redactor.string("postgres://admin:s3cr3t-pw@db.internal:5432/app")).toBe(
        "postgres://admin:[REDACTED:url_password]@db.internal:5432/app"
      )
      expect(redactor.string("Authorization: Bearer abc123def456ghi789")).toBe(
        "Authorization: Bearer [REDACTED:bearer]"
      )
    })

    it("ordinary ids, UUIDs, timestamps, prices and order numbers survive", () => {
      for (const s of ordinary) expect(redactor.string(s), s).toBe(s)
      const payload = { id: ordinary[0], items: ordinary.map((sku, i) => ({ sku, qty: i, price: 9.99 })) }
      expect(redactor.value(payload)).toBe(payload) // untouched: same reference
    })

    it("disable switches a class off", () => {
      const r = Effect.runSync(Redaction.make({ disable: ["ipv4"] }))
      expect(r.string("host 10.0.0.1")).toBe("host 10.0.0.1")
      expect(r.string("mail a@example.com")).toBe("mail [REDACTED:email]")
      const plain = Effect.runSync(Redaction.make({ labels: false, mask: "***" }))
      expect(plain.string("mail a@example.com")).toBe("mail ***")
    })
  })

  describe("keys", () => {
    it("masks the value of every sensitive key, in any case and with - or _", () => {
      for (const key of Redaction.keys) {
        const variants = [key, key.toUpperCase(), key.replace(/_/g, "-"), key.replace(/[-_]/g, "")]
        for (const k of variants) {
          const out = redactor.value({ [k]: "plain-value", other: "plain-value" }) as Record<string, unknown>
          expect(out[k], k).toBe("[REDACTED]")
          expect(out.other).toBe("plain-value")
        }
      }
    })

    it("masks whole values (numbers, objects) and keys ending in password/secret/token", () => {
      const out = redactor.value({
        pin: 1234,
        credentials: { user: "u", pass: "p" },
        dbPassword: "x",
        stripe_secret: "y",
        csrfToken: "z",
        total: 5,
        shipping: "express",
        tokens_used: 12
      })
      expect(out).toEqual({
        pin: "[REDACTED]",
        credentials: "[REDACTED]",
        dbPassword: "[REDACTED]",
        stripe_secret: "[REDACTED]",
        csrfToken: "[REDACTED]",
        total: 5,
        shipping: "express",
        tokens_used: 12
      })
    })

    it("extraKeys adds keys; keys: false keeps them", () => {
      const extra = Effect.runSync(Redaction.make({ extraKeys: ["Tax-ID"] }))
      expect(extra.value({ tax_id: "x" })).toEqual({ tax_id: "[REDACTED]" })
      const off = Effect.runSync(Redaction.make({ keys: false }))
      expect(off.value({ password: "x" })).toEqual({ password: "x" })
    })
  })

  describe("walk", () => {
    it("is deep, leaves inputs unchanged, and copies only changed branches", () => {
      const untouched = { sku: "A-1" }
      const input = { a: { b: [{ c: { email: "x", note: "mail a@example.com" } }] }, untouched }
      const out = redactor.value(input) as typeof input
      expect(out.a.b[0]!.c).toEqual({ email: "x", note: "mail [REDACTED:email]" })
      expect(input.a.b[0]!.c.note).toBe("mail a@example.com")
      expect(out.untouched).toBe(untouched)
    })

    it("is safe on cycles and bounded in depth", () => {
      const cyclic: Record<string, unknown> = { token: "t", name: "n" }
      cyclic.self = cyclic
      const out = redactor.value(cyclic) as Record<string, unknown>
      expect(out.token).toBe("[REDACTED]")
      expect(out.self).toBe("[Circular]")
      const shared = { ip: "10.0.0.1" }
      expect(redactor.value({ x: shared, y: shared })).toEqual({
        x: { ip: "[REDACTED:ipv4]" },
        y: { ip: "[REDACTED:ipv4]" }
      })
      let deep: Record<string, unknown> = { secret_note: "mail a@example.com" }
      for (let i = 0; i < 100; i++) deep = { next: deep }
      const shallow = Effect.runSync(Redaction.make({ maxDepth: 5 }))
      let node = shallow.value(deep) as Record<string, unknown>
      for (let i = 0; i < 5; i++) node = node.next as Record<string, unknown>
      expect(node).toBe("[Truncated]")
    })

    it("always masks Redacted values (fields typed Schema.Redacted)", () => {
      const Payload = Schema.Struct({ user: Schema.String, credentialRef: Schema.RedactedFromValue(Schema.String) })
      const decoded = Schema.decodeUnknownSync(Payload)({ user: "u", credentialRef: "opaque-value" })
      expect(Redacted.isRedacted(decoded.credentialRef)).toBe(true)
      expect(redactor.value(decoded)).toEqual({ user: "u", credentialRef: "[REDACTED]" })
      const off = Effect.runSync(Redaction.make({ keys: false, patterns: false }))
      expect(off.value(decoded)).toEqual({ user: "u", credentialRef: "[REDACTED]" })
    })

    it("redact(envelope) masks payload and headers, keeps identity when clean", () => {
      const envelope: Envelope.Envelope = {
        id: "1",
        type: "users.signed_up",
        payload: { email: "a@example.com", plan: "pro" },
        priority: "normal",
        publishedAt: 0,
        attempt: 1,
        headers: { Authorization: "Bearer abcdefghijkl", "x-request-id": "r-1" }
      }
      const out = redactor.redact(envelope)
      expect(out.payload).toEqual({ email: "[REDACTED:email]", plan: "pro" })
      expect(out.headers).toEqual({ Authorization: "[REDACTED]", "x-request-id": "r-1" })
      expect(out.id).toBe("1")
      const clean = { ...envelope, payload: { plan: "pro" }, headers: undefined }
      expect(redactor.redact(clean)).toBe(clean)
    })
  })

  describe("plugin", () => {
    const SignedUp = Event.define("users.signed_up", {
      payload: Schema.Struct({
        email: Schema.String,
        password: Schema.String,
        apiCredential: Schema.Redacted(Schema.String),
        note: Schema.String
      })
    })
    const payload = {
      email: "a@example.com",
      password: "hunter2",
      apiCredential: Redacted.make("real"),
      note: "call +14155552671"
    }
    const bus = (config: Redaction.Options) =>
      EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Redaction.plugin(config))))

    it.effect("subscribers mode: subscribers never see the secrets; Redacted keeps its type", () =>
      Effect.gen(function* () {
        const b = yield* EventBus.EventBus
        const seen: Array<typeof SignedUp.payload.Type> = []
        yield* b.subscribe(SignedUp, (e) => Effect.sync(() => seen.push(e.payload)), { name: "s" })
        yield* b.publish(SignedUp, payload)
        yield* b.drain
        expect(seen).toHaveLength(1)
        const p = seen[0]!
        expect(p.email).toBe("[REDACTED:email]")
        expect(p.password).toBe("[REDACTED]")
        expect(p.note).toBe("call [REDACTED:phone_e164]")
        expect(Redacted.isRedacted(p.apiCredential)).toBe(true)
        expect(Redacted.value(p.apiCredential)).toBe("[REDACTED]")
      }).pipe(Effect.provide(bus({ mode: "subscribers" })))
    )

    it.effect("egress mode: subscribers see the payload, the Redactor masks what leaves", () =>
      Effect.gen(function* () {
        const b = yield* EventBus.EventBus
        const r = yield* Redaction.Redactor
        const seen: Array<Envelope.Envelope<typeof SignedUp.payload.Type>> = []
        yield* b.subscribe(SignedUp, (e) => Effect.sync(() => seen.push(e)), { name: "s" })
        yield* b.publish(SignedUp, payload)
        yield* b.drain
        expect(seen[0]!.payload.password).toBe("hunter2")
        expect(r.redact(seen[0]!).payload).toEqual({
          email: "[REDACTED:email]",
          password: "[REDACTED]",
          apiCredential: "[REDACTED]",
          note: "call [REDACTED:phone_e164]"
        })
      }).pipe(Effect.provide([bus({ mode: "egress" }), Redaction.Redactor.layer()]))
    )

    it.effect("a bad config value fails with InvalidOptions naming the path", () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Effect.provide(EventBus.EventBus, bus({ disable: ["ipv5" as never] })))
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
        const e = error?._tag === "Fail" ? (error.error as Errors.InvalidOptions) : undefined
        expect(e?._tag).toBe("InvalidOptions")
        expect(e?.target).toBe("Redaction")
        expect(e?.message).toContain(`at ["disable"][0]`)
        const exit2 = yield* Effect.exit(Redaction.make({ maxDepth: 0 }))
        expect(Exit.isFailure(exit2) && String(exit2.cause)).toContain(`["maxDepth"]`)
        const exit3 = yield* Effect.exit(
          Effect.provide(Redaction.Redactor, Redaction.Redactor.layer({ mode: "both" as never }))
        )
        expect(Exit.isFailure(exit3) && String(exit3.cause)).toContain(`["mode"]`)
      })
    )
  })
})
