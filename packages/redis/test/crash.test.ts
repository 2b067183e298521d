import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { Redis } from "effect/persistence/Redis"
import {
  definitions,
  OrderPlaced,
  pendingCount,
  publisher,
  REDIS_URL,
  skip,
  startNode,
  waitUntil,
  withPrefix
} from "./fixtures.ts"

const script = fileURLToPath(new URL("./fixtures/consumer.ts", import.meta.url))

describe.skipIf(skip)("RedisTransport across processes", () => {
  it.live("a consumer killed with SIGKILL mid-stream: its pending entries are claimed by the survivor", () =>
    withPrefix(
      (prefix) =>
        Effect.gen(function* () {
          const redis = yield* Redis
          const stream = `${prefix}:orders.placed`
          const ready = yield* Deferred.make<void>()
          const child = yield* Effect.acquireRelease(
            Effect.sync(() => {
              const child = spawn(process.execPath, [script], {
                env: { ...process.env, REDIS_URL, PREFIX: prefix, GROUP: "billing", CONSUMER: "doomed" },
                stdio: ["ignore", "pipe", "inherit"]
              })
              child.stdout.on("data", (chunk: Buffer) => {
                if (chunk.toString().includes("ready")) Deferred.doneUnsafe(ready, Effect.void)
              })
              return child
            }),
            (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
          )
          yield* Deferred.await(ready)

          const pub = yield* publisher({ definitions, prefix })
          const N = 300
          const ids = yield* Effect.forEach(
            Array.from({ length: N }, (_, i) => i),
            (i) => Effect.map(pub.publish(OrderPlaced, { orderId: `o-${i}`, total: i }), (p) => p.id),
            { concurrency: 16 }
          )

          // Kill it mid-stream: some handled, most read but not acknowledged.
          const childHandled = () => redis.send<Array<string>>("SMEMBERS", `${prefix}:handled:doomed`)
          yield* waitUntil(Effect.map(childHandled(), (xs) => xs.length >= 30))
          const exited = new Promise((resolve) => child.once("exit", resolve))
          child.kill("SIGKILL")
          yield* Effect.promise(() => exited)
          const before = yield* childHandled()
          expect(before.length).toBeLessThan(N)
          const pendingOfDead = yield* pendingCount(stream, "billing")
          expect(pendingOfDead).toBeGreaterThan(0)

          const survivorSaw = new Set<string>()
          const survivor = yield* startNode(
            {
              definitions,
              prefix,
              group: "billing",
              consumer: "survivor",
              block: "200 millis",
              claimIdle: "300 millis",
              claimInterval: "100 millis"
            },
            (bus) => Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => survivorSaw.add(e.id))))
          )
          yield* waitUntil(Effect.map(pendingCount(stream, "billing"), (n) => n === 0))

          const after = new Set([...(yield* childHandled()), ...survivorSaw])
          expect(ids.every((id) => after.has(id))).toBe(true) // every event handled at least once
          const stats = yield* survivor.transport.stats
          expect(stats.claimed).toBeGreaterThanOrEqual(pendingOfDead - 1)
          expect(survivorSaw.size).toBeGreaterThanOrEqual(N - before.length)
        }),
      "25 seconds"
    )
  )
})
