import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { TestKit } from "@eventfabric/core/testing"
import { DeadLetter, Retry, Validation } from "@eventfabric/plugins"
import { RedisConnection } from "@eventfabric/redis"
import { Effect, Fiber, Layer } from "effect"
import { Redis } from "effect/persistence/Redis"
import { TestClock } from "effect/testing"
import { Test } from "../src/environments/layers.ts"
import { OrderPlaced, program } from "../src/environments/program.ts"

const main = fileURLToPath(new URL("../src/environments/main.ts", import.meta.url))

/** Runs the example with extra env; resolves with exit code and output (bounded by `timeout`). */
const run = (env: Record<string, string>) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile(process.execPath, [main], { env: { ...process.env, ...env }, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr })
    )
  })

describe("examples/environments", () => {
  it.effect("test: in-memory DLQ, and retries move with the TestClock, not the wall clock", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(program.pipe(Effect.provide(Test)), { startImmediately: true })
      yield* Effect.yieldNow
      // o-3 fails, and Retry waits 1 s before its next try: nothing moves until the clock does
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 second")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("2 seconds") // second retry after 2 s, then it gives up
      const report = yield* Fiber.join(fiber)
      expect(report.handled).toEqual(["o-1", "o-2", "o-2"]) // no dedup in test
      expect(report.deadLettered).toEqual(["fulfilment:o-3"])
    })
  )

  it.effect("test, with the test kit outermost: it sees o-3 dead-lettered after its retries, the rest consumed", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(program, { startImmediately: true })
      yield* TestClock.adjust("3 seconds") // both retries of o-3
      yield* Fiber.join(fiber)
      const kit = yield* TestKit
      yield* kit.expectPublished(OrderPlaced, (p) => p.orderId === "o-3")
      const [failure] = yield* kit.deadLettered
      expect(failure?.envelope.payload).toMatchObject({ orderId: "o-3" })
      expect(failure?.error?._tag).toBe("HandlerError") // the verdict after Retry gave up and DeadLetter stored it
      expect((yield* kit.consumed).map((d) => (d.envelope.payload as { orderId: string }).orderId)).toEqual([
        "o-1",
        "o-2",
        "o-2"
      ])
    }).pipe(
      Effect.provide(
        // The example's Test layer, with the kit added in front of its plugins.
        TestKit.layerBus(
          { shutdownGrace: "1 second" },
          Validation.plugin(),
          DeadLetter.plugin(),
          Retry.plugin({ times: 2, base: "1 second", jitter: false })
        ).pipe(Layer.provideMerge(DeadLetter.DeadLetterQueue.layerMemory({ capacity: 100 })))
      )
    )
  )

  it("dev: console logging plugin, no dedup", async () => {
    const { code, out } = await run({ APP_ENV: "dev" })
    expect(code).toBe(0)
    expect(out).toContain("environment: dev")
    expect(out).toContain("publish orders.placed -> accepted (normal)")
    expect(out).toContain("deliver orders.placed to fulfilment: failed (attempt 1)")
    expect(out).toContain("handled: o-1, o-2, o-2")
    expect(out).toContain("dead-lettered: fulfilment:o-3")
    expect(out).toContain("deduplicated: 0")
  }, 25_000)

  it("prod: dedup, Redis-backed DLQ, Prometheus, OTLP export", async () => {
    const paths: Array<string> = []
    const otlp = createServer((req, res) => {
      paths.push(req.url ?? "")
      req.resume()
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"))
    })
    await new Promise<void>((resolve) => otlp.listen(0, "127.0.0.1", resolve))
    const prefix = `example:env:${randomUUID().slice(0, 8)}`
    try {
      const { code, out } = await run({
        APP_ENV: "prod",
        DLQ_PREFIX: prefix,
        METRICS_PORT: "0",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(otlp.address() as AddressInfo).port}`
      })
      expect(code, out).toBe(0)
      expect(out).toContain("dead letters: redis")
      expect(out).toContain("metrics: Prometheus text on http://127.0.0.1:<free port>/metrics")
      expect(out).toContain("handled: o-1, o-2") // the repeat was suppressed
      expect(out).not.toContain("handled: o-1, o-2, o-2")
      expect(out).toContain("dead-lettered: fulfilment:o-3")
      expect(out).toContain("deduplicated: 1")
      expect(paths).toContain("/v1/traces")
      // the entry really is in Redis
      const keys = await Effect.runPromise(
        Effect.gen(function* () {
          const redis = yield* Redis
          const [, keys] = yield* redis.send<[string, Array<string>]>(
            "SCAN",
            "0",
            "MATCH",
            `${prefix}*`,
            "COUNT",
            "1000"
          )
          if (keys.length > 0) yield* redis.send("DEL", ...keys)
          return keys
        }).pipe(Effect.provide(RedisConnection.layer()))
      )
      expect(keys.length).toBeGreaterThan(0)
    } finally {
      otlp.close()
    }
  }, 25_000)

  it("prod without a reachable Redis falls back to the memory DLQ", async () => {
    const { code, out } = await run({ APP_ENV: "prod", METRICS_PORT: "0", REDIS_URL: "redis://127.0.0.1:1" })
    expect(code, out).toBe(0)
    expect(out).toContain("dead letters: memory (redis unreachable")
    expect(out).toContain("dead-lettered: fulfilment:o-3")
  }, 25_000)

  it("an unknown APP_ENV fails with Config's message", async () => {
    const { code, out } = await run({ APP_ENV: "staging" })
    expect(code).toBe(1)
    expect(out).toContain("APP_ENV")
  }, 25_000)
})
