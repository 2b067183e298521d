import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"
import { HttpServer } from "effect/http"
import { layer } from "../src/http-service/server.ts"

/** fetch with a deadline: every wait in this test is bounded. */
const call = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) })
    const text = await response.text()
    return { status: response.status, type: response.headers.get("content-type") ?? "", text }
  })

const json = (r: { readonly text: string }) => JSON.parse(r.text)

/** Polls `self` until `done` holds (bounded). */
const until = <A>(self: Effect.Effect<A>, done: (a: A) => boolean) =>
  self.pipe(Effect.repeat({ until: done, schedule: Schedule.spaced("10 millis") }), Effect.timeout("5 seconds"))

describe("examples/http-service", () => {
  it.live(
    "over real HTTP on 127.0.0.1: publish, 400 on bad input, stats, DLQ, retry, metrics",
    () =>
      Effect.gen(function* () {
        const server = yield* HttpServer.HttpServer
        const address = server.address
        if (!("port" in address)) throw new Error("expected a TCP address")
        expect(address.port).toBeGreaterThan(0)
        const base = `http://127.0.0.1:${address.port}`
        const post = (path: string, body: string) =>
          call(`${base}${path}`, { method: "POST", body, headers: { "content-type": "application/json" } })

        // a valid order is accepted
        const ok = yield* post("/orders", JSON.stringify({ orderId: "o-1", sku: "book", quantity: 2 }))
        expect(ok.status).toBe(202)
        expect(json(ok)).toMatchObject({ type: "orders.placed", status: "accepted", lane: "normal" })

        // an invalid body: 400 with Schema's message and path
        const bad = yield* post("/orders", JSON.stringify({ orderId: "o-2", sku: "book", quantity: "two" }))
        expect(bad.status).toBe(400)
        expect(json(bad).message).toContain("Expected number")
        expect(json(bad).message).toContain(`["payload"]["quantity"]`)
        const notJson = yield* post("/orders", "{not json")
        expect(notJson.status).toBe(400)

        // a handler failure lands in the DLQ
        const flaky = yield* post("/orders", JSON.stringify({ orderId: "o-3", sku: "flaky", quantity: 1 }))
        expect(flaky.status).toBe(202)
        const dlq = yield* until(Effect.map(call(`${base}/dlq`), json), (entries: Array<any>) => entries.length === 1)
        const [entry] = dlq as Array<any>
        expect(entry).toMatchObject({ subscription: "fulfilment", reason: "HandlerError", attempts: 1 })
        expect(entry.envelope.payload).toEqual({ orderId: "o-3", sku: "flaky", quantity: 1 })
        expect(entry.cause).toContain("warehouse unavailable for o-3")

        // stats count all of it
        const stats = json(yield* call(`${base}/stats`))
        expect(stats.rejected).toBe(1)
        expect(stats.deliveries.succeeded).toBe(1)
        expect(stats.deliveries.failed).toBe(1)
        expect(stats.deliveries.deadLettered).toBe(1)

        // retry succeeds (attempt 2) and empties the DLQ; an unknown id is a 404
        const retried = yield* post(`/dlq/${encodeURIComponent(entry.id)}/retry`, "")
        expect(retried.status).toBe(200)
        expect(json(retried)).toMatchObject({ subscription: "fulfilment", status: "succeeded" })
        expect(json(yield* call(`${base}/dlq`))).toEqual([])
        const again = yield* post(`/dlq/${encodeURIComponent(entry.id)}/retry`, "")
        expect(again.status).toBe(404)
        expect(json(yield* call(`${base}/stats`)).deliveries.succeeded).toBe(2)

        // Prometheus text
        const metrics = yield* call(`${base}/metrics`)
        expect(metrics.status).toBe(200)
        expect(metrics.type).toContain("text/plain")
        expect(metrics.text).toContain("# TYPE eventfabric_events_published_total counter")
        expect(metrics.text).toMatch(/eventfabric_events_rejected_total\{type="orders\.placed"\} 1/)
        expect(metrics.text).toMatch(/eventfabric_deliveries_total\{[^}]*outcome="succeeded"[^}]*\} [1-9]/)
      }).pipe(Effect.provide(layer({ port: 0, host: "127.0.0.1" }).pipe(Layer.fresh))),
    30_000
  )
})
