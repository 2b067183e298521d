import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { DeadLetter, DeadLetterQueue, Redaction } from "@eventfabric/plugins"
import { ConfigProvider, Effect, Layer, Option, Redacted, Schema } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { Inspector, Routes } from "../src/index.ts"

const Signup = Event.define("users.signed_up", {
  payload: Schema.Struct({ userId: Schema.String, email: Schema.String, password: Schema.String })
})

const TOKEN = "t0ken-for-tests"

const Bus = EventBus.EventBus.layer().pipe(
  Layer.provide(Plugin.layer(DeadLetter.plugin())),
  Layer.provideMerge(DeadLetterQueue.layerMemory()),
  Layer.provideMerge(Redaction.Redactor.layer())
)

const NoEnv = ConfigProvider.layer(ConfigProvider.fromUnknown({}))

const served = (token: string | undefined) =>
  Routes.layerServer({
    port: 0,
    interval: "100 millis",
    ...(token === undefined ? {} : { token: Redacted.make(token) })
  }).pipe(Layer.provideMerge(Bus), Layer.provide(NoEnv))

/** The switch that makes the `welcome` handler fail, and what it delivered. */
const welcome = { failing: new Set<string>(), delivered: [] as Array<string> }

const fixture = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  const dlq = yield* DeadLetterQueue.DeadLetterQueue
  const base = yield* Routes.url
  for (const name of ["welcome", "audit"]) {
    yield* bus.subscribe(
      Signup,
      (e) =>
        welcome.failing.has(e.payload.userId)
          ? Effect.fail(`could not mail ${e.payload.email}`)
          : Effect.sync(() => welcome.delivered.push(`${name}:${e.payload.userId}`)),
      { name }
    )
  }
  const deadLetter = Effect.fnUntraced(function* (userId: string) {
    welcome.failing.add(userId)
    const receipt = yield* bus.publish(Signup, { userId, email: `${userId}@example.com`, password: "hunter2" })
    yield* bus.drain
    return receipt.id
  })
  const call = (path: string, init?: RequestInit) => Effect.promise(() => fetch(new URL(path, base), init))
  const post = (path: string, body: unknown, token?: string) =>
    call(path, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body)
    })
  const json = (response: Response) => Effect.promise(() => response.json() as Promise<any>)
  return { bus, dlq, base, deadLetter, call, post, json }
})

describe("Routes", () => {
  it.live("refuses a mutation without the token, or with a wrong one, with 401, and changes nothing", () =>
    Effect.gen(function* () {
      const { dlq, deadLetter, post } = yield* fixture
      yield* deadLetter("u-401")
      const before = (yield* dlq.list()).length
      assert.isAbove(before, 0)
      for (const token of [undefined, "wrong", `${TOKEN}x`]) {
        for (const [path, body] of [
          ["api/dlq/purge", {}],
          ["api/dlq/retry-all", {}],
          ["api/dlq/retry", { id: "welcome/x" }],
          ["api/auth", {}]
        ] as const) {
          const response = yield* post(path, body, token)
          assert.strictEqual(response.status, 401, `${path} with ${token}`)
          assert.include(response.headers.get("www-authenticate") ?? "", "Bearer")
        }
      }
      assert.strictEqual((yield* dlq.list()).length, before)
      assert.strictEqual((yield* post("api/auth", {}, TOKEN)).status, 204)
    }).pipe(Effect.provide(served(TOKEN)))
  )

  it.live("is read-only without a configured token: mutations answer 403", () =>
    Effect.gen(function* () {
      const { dlq, deadLetter, post, call, json } = yield* fixture
      yield* deadLetter("u-403")
      const response = yield* post("api/dlq/purge", {}, "anything")
      assert.strictEqual(response.status, 403)
      assert.strictEqual((yield* json(response)).error, "ReadOnly")
      assert.isAbove((yield* dlq.list()).length, 0)
      assert.isTrue((yield* json(yield* call("api/snapshot"))).readOnly)
    }).pipe(Effect.provide(served(undefined)))
  )

  it.live("retries a dead letter through the API: it leaves the DLQ and is delivered", () =>
    Effect.gen(function* () {
      const { dlq, deadLetter, post, json } = yield* fixture
      const envelopeId = yield* deadLetter("u-retry")
      const id = DeadLetterQueue.entryId("welcome", envelopeId)
      assert.isTrue(Option.isSome(yield* dlq.get(id)))
      welcome.failing.delete("u-retry")
      const response = yield* post("api/dlq/retry", { id }, TOKEN)
      assert.strictEqual(response.status, 200)
      assert.strictEqual((yield* json(response)).status, "succeeded")
      assert.isTrue(Option.isNone(yield* dlq.get(id)))
      assert.include(welcome.delivered, "welcome:u-retry")
      assert.strictEqual((yield* post("api/dlq/retry", { id }, TOKEN)).status, 404)
      assert.strictEqual((yield* post("api/dlq/retry", { nope: 1 }, TOKEN)).status, 400)
    }).pipe(Effect.provide(served(TOKEN)))
  )

  it.live("retries and purges the filtered set only", () =>
    Effect.gen(function* () {
      const { dlq, deadLetter, post, json, call } = yield* fixture
      yield* deadLetter("u-bulk-1")
      yield* deadLetter("u-bulk-2")
      const listed = yield* json(yield* call("api/dlq?subscription=audit"))
      assert.strictEqual(listed.matching, 2)
      assert.deepStrictEqual(listed.facets.subscriptions, ["audit", "welcome"])
      welcome.failing.delete("u-bulk-1")
      welcome.failing.delete("u-bulk-2")
      const retried = yield* json(yield* post("api/dlq/retry-all", { subscription: "audit" }, TOKEN))
      assert.deepStrictEqual(retried, { total: 2, succeeded: 2, failed: 0, errors: 0 })
      assert.strictEqual((yield* dlq.list({ subscription: "audit" })).length, 0)
      assert.strictEqual((yield* dlq.list({ subscription: "welcome" })).length, 2)
      const purged = yield* json(yield* post("api/dlq/purge", { subscription: "welcome" }, TOKEN))
      assert.strictEqual(purged.purged, 2)
      assert.strictEqual((yield* dlq.list()).length, 0)
      assert.strictEqual((yield* post("api/dlq/purge", { reason: "NotAReason" }, TOKEN)).status, 400)
    }).pipe(Effect.provide(served(TOKEN)))
  )

  it.live("opens an entry with its payload and cause through the Redactor", () =>
    Effect.gen(function* () {
      const { deadLetter, call } = yield* fixture
      const envelopeId = yield* deadLetter("u-redact")
      const id = DeadLetterQueue.entryId("welcome", envelopeId)
      const response = yield* call(`api/dlq/entry?${new URLSearchParams({ id })}`)
      const text = yield* Effect.promise(() => response.text())
      assert.strictEqual(response.status, 200)
      assert.notInclude(text, "hunter2")
      assert.notInclude(text, "u-redact@example.com")
      const entry = JSON.parse(text)
      assert.strictEqual(entry.envelope.payload.userId, "u-redact")
      assert.strictEqual(entry.envelope.payload.password, "[REDACTED]")
      const list = yield* call("api/dlq")
      assert.notInclude(yield* Effect.promise(() => list.text()), "u-redact@example.com")
      assert.strictEqual((yield* call("api/dlq/entry?id=nope")).status, 404)
    }).pipe(Effect.provide(served(TOKEN)))
  )

  it.live("streams one update per interval as Server-Sent Events", () =>
    Effect.gen(function* () {
      const { call } = yield* fixture
      const response = yield* call("api/stream")
      assert.strictEqual(response.headers.get("content-type"), "text/event-stream")
      const reader = response.body!.getReader()
      const decoder = new TextDecoder()
      let text = ""
      while ((text.match(/event: update/g) ?? []).length < 2) {
        const chunk = yield* Effect.promise(() => reader.read())
        text += decoder.decode(chunk.value)
      }
      yield* Effect.promise(() => reader.cancel())
      const seqs = [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!).sample.seq as number)
      assert.isAbove(seqs[1]!, seqs[0]!)
    }).pipe(Effect.provide(served(TOKEN)))
  )

  it.live("mounts under a prefix of an existing router, its page pointing its relative URLs there", () =>
    Effect.gen(function* () {
      const base = yield* Routes.url
      const get = (path: string) => Effect.promise(() => fetch(new URL(path, base)))
      const page = yield* get("inspector")
      const html = yield* Effect.promise(() => page.text())
      assert.strictEqual(page.status, 200)
      assert.include(html, '<base href="/inspector/"')
      assert.include(page.headers.get("content-security-policy") ?? "", "script-src 'self'")
      assert.strictEqual((yield* get("inspector/app.js")).status, 200)
      assert.strictEqual((yield* get("inspector/uplot.js")).status, 200)
      assert.strictEqual((yield* get("inspector/api/snapshot")).status, 200)
      assert.strictEqual((yield* get("api/snapshot")).status, 404)
      const health = yield* get("health")
      assert.strictEqual(yield* Effect.promise(() => health.text()), "ok")
    }).pipe(
      Effect.provide(
        HttpRouter.serve(
          Layer.mergeAll(
            HttpRouter.add("GET", "/health", HttpServerResponse.text("ok")),
            Routes.layer({ prefix: "/inspector" })
          ),
          { disableLogger: true, disableListenLog: true }
        ).pipe(
          Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" })),
          Layer.provide(Inspector.Inspector.layer()),
          Layer.provide(Bus),
          Layer.provide(NoEnv)
        )
      )
    )
  )
})
