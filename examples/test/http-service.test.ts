import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted, Schedule } from "effect"
import { HttpServer } from "effect/http"
import { layer } from "../src/http-service/server.ts"

/** fetch with a deadline: every wait in this test is bounded. */
const call = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) })
    const text = await response.text()
    return {
      status: response.status,
      type: response.headers.get("content-type") ?? "",
      text,
      headers: response.headers
    }
  })

const json = (r: { readonly text: string }) => JSON.parse(r.text)

/** Polls `self` until `done` holds (bounded). */
const until = <A>(self: Effect.Effect<A>, done: (a: A) => boolean) =>
  self.pipe(Effect.repeat({ until: done, schedule: Schedule.spaced("10 millis") }), Effect.timeout("5 seconds"))

const token = "test-token-0123456789"
const service = (publishLimit = 1_000) =>
  layer({
    port: 0,
    host: "127.0.0.1",
    token: Redacted.make(token),
    maxBodyBytes: 1_024,
    publishLimit,
    publishWindow: Duration.minutes(1)
  }).pipe(Layer.fresh)

const client = Effect.gen(function* () {
  const server = yield* HttpServer.HttpServer
  const address = server.address
  if (!("port" in address)) throw new Error("expected a TCP address")
  const base = `http://127.0.0.1:${address.port}`
  const auth = { authorization: `Bearer ${token}` }
  return {
    base,
    get: (path: string, headers: Record<string, string> = auth) => call(`${base}${path}`, { headers }),
    post: (path: string, body: BodyInit, headers: Record<string, string> = auth) =>
      call(`${base}${path}`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", ...headers },
        ...(body instanceof ReadableStream ? { duplex: "half" } : {})
      } as RequestInit)
  }
})

describe("examples/http-service", () => {
  it.live(
    "over real HTTP on 127.0.0.1: publish, 400 on bad input, stats, DLQ, retry, metrics",
    () =>
      Effect.gen(function* () {
        const { get, post } = yield* client

        // a valid order is accepted
        const ok = yield* post("/orders", JSON.stringify({ orderId: "o-1", sku: "book", quantity: 2 }))
        expect(ok.status).toBe(202)
        expect(json(ok)).toMatchObject({ type: "orders.placed", status: "accepted", lane: "normal" })

        // an invalid body: 400 with Schema's message and path
        const bad = yield* post("/orders", JSON.stringify({ orderId: "o-2", sku: "book", quantity: "two" }))
        expect(bad.status).toBe(400)
        expect(json(bad).code).toBe("InvalidEvent")
        expect(json(bad).message).toContain("Expected number")
        expect(json(bad).message).toContain(`["payload"]["quantity"]`)
        const notJson = yield* post("/orders", "{not json")
        expect(notJson.status).toBe(400)

        // a handler failure lands in the DLQ
        const flaky = yield* post("/orders", JSON.stringify({ orderId: "o-3", sku: "flaky", quantity: 1 }))
        expect(flaky.status).toBe(202)
        const dlq = yield* until(Effect.map(get("/dlq"), json), (entries: Array<any>) => entries.length === 1)
        const [entry] = dlq as Array<any>
        expect(entry).toMatchObject({ subscription: "fulfilment", reason: "HandlerError", attempts: 1 })
        expect(entry.envelope.payload).toEqual({ orderId: "o-3", sku: "flaky", quantity: 1 })
        expect(entry.error).toContain("warehouse unavailable for o-3")

        // stats count all of it
        const stats = json(yield* get("/stats"))
        expect(stats.rejected).toBe(1)
        expect(stats.deliveries.succeeded).toBe(1)
        expect(stats.deliveries.failed).toBe(1)
        expect(stats.deliveries.deadLettered).toBe(1)

        // retry succeeds (attempt 2) and empties the DLQ; an unknown id is a 404
        const retried = yield* post(`/dlq/${encodeURIComponent(entry.id)}/retry`, "")
        expect(retried.status).toBe(200)
        expect(json(retried)).toMatchObject({ subscription: "fulfilment", status: "succeeded" })
        expect(json(yield* get("/dlq"))).toEqual([])
        const again = yield* post(`/dlq/${encodeURIComponent(entry.id)}/retry`, "")
        expect(again.status).toBe(404)
        expect(json(again).code).toBe("NotFound")
        expect(json(yield* get("/stats")).deliveries.succeeded).toBe(2)

        // Prometheus text
        const metrics = yield* get("/metrics")
        expect(metrics.status).toBe(200)
        expect(metrics.type).toContain("text/plain")
        expect(metrics.text).toContain("# TYPE eventfabric_events_published_total counter")
        expect(metrics.text).toMatch(/eventfabric_events_rejected_total\{type="orders\.placed"\} 1/)
        expect(metrics.text).toMatch(/eventfabric_deliveries_total\{[^}]*outcome="succeeded"[^}]*\} [1-9]/)
      }).pipe(Effect.provide(service())),
    30_000
  )

  it.live(
    "every route refuses a request without the bearer token, or with a wrong one, with 401 and a JSON code",
    () =>
      Effect.gen(function* () {
        const { get, post } = yield* client
        const body = JSON.stringify({ orderId: "o-1", sku: "book", quantity: 1 })
        for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: token }]) {
          const answers = [
            yield* post("/orders", body, headers),
            yield* get("/stats", headers),
            yield* get("/dlq", headers),
            yield* post("/dlq/x%2Fy/retry", "", headers),
            yield* get("/metrics", headers)
          ]
          for (const answer of answers) {
            expect(answer.status).toBe(401)
            expect(json(answer)).toEqual({ code: "Unauthorized", message: "a valid bearer token is required" })
            expect(answer.headers.get("www-authenticate")).toBe("Bearer")
          }
        }
        // nothing was published by the refused requests
        expect(json(yield* get("/stats")).published).toBe(0)
      }).pipe(Effect.provide(service())),
    30_000
  )

  it.live(
    "a body over the limit is refused with 413, whether or not it declares its length",
    () =>
      Effect.gen(function* () {
        const { get, post } = yield* client
        const big = JSON.stringify({ orderId: "o-1", sku: "x".repeat(2_000), quantity: 1 })
        const declared = yield* post("/orders", big)
        expect(declared.status).toBe(413)
        expect(json(declared).code).toBe("PayloadTooLarge")
        const bytes = new TextEncoder().encode(big)
        const streamed = yield* post(
          "/orders",
          new ReadableStream({
            start(controller) {
              controller.enqueue(bytes)
              controller.close()
            }
          })
        )
        expect(streamed.status).toBe(413)
        expect(json(yield* get("/stats")).published).toBe(0)
      }).pipe(Effect.provide(service())),
    30_000
  )

  it.live(
    "publishes past the per-client rate limit are refused with 429 and retry-after; nothing past it is published",
    () =>
      Effect.gen(function* () {
        const { get, post } = yield* client
        const statuses: Array<number> = []
        for (let i = 0; i < 5; i++) {
          const r = yield* post("/orders", JSON.stringify({ orderId: `o-${i}`, sku: "book", quantity: 1 }))
          statuses.push(r.status)
          if (r.status === 429) {
            expect(json(r).code).toBe("RateLimited")
            expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
          }
        }
        expect(statuses).toEqual([202, 202, 202, 429, 429])
        expect(json(yield* get("/stats")).published).toBe(3)
      }).pipe(Effect.provide(service(3))),
    30_000
  )

  it.live(
    "an unknown route is a 404 with a JSON body; dead letters leave redacted, with no stack trace or file path",
    () =>
      Effect.gen(function* () {
        const { get, post } = yield* client
        const missing = yield* get("/nope")
        expect(missing.status).toBe(404)
        expect(json(missing)).toEqual({ code: "NotFound", message: "no such route" })

        const secret = "alice@example.com"
        const r = yield* post("/orders", JSON.stringify({ orderId: `o-9 ${secret}`, sku: "flaky", quantity: 1 }))
        expect(r.status).toBe(202)
        const dlq = yield* until(get("/dlq"), (answer) => json(answer).length === 1)
        expect(dlq.text).not.toContain(secret)
        expect(dlq.text).toContain("[REDACTED:email]")
        expect(dlq.text).not.toMatch(/\bat \S+:\d+/)
        expect(dlq.text).not.toContain(process.cwd())
      }).pipe(Effect.provide(service())),
    30_000
  )
})
