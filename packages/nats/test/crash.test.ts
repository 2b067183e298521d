import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Transport } from "@eventfabric/transport"
import { Deferred, Effect, Schedule } from "effect"
import { definitions, NATS_URL, OrderPlaced, skip, startNode, waitUntil, withStream } from "./fixtures.ts"
import { natsBinary, startNats } from "./server.ts"

const script = fileURLToPath(new URL("./fixtures/consumer.ts", import.meta.url))

describe.skipIf(skip)("NatsTransport across processes and restarts", () => {
  it.live("a consumer process killed with SIGKILL mid-stream: 0 events lost, the survivor gets the rest", () =>
    withStream(
      (names) =>
        Effect.gen(function* () {
          const handledByChild = new Set<string>()
          const ready = yield* Deferred.make<void>()
          const child = yield* Effect.acquireRelease(
            Effect.sync(() => {
              const child = spawn(process.execPath, [script], {
                env: { ...process.env, NATS_URL, STREAM: names.stream, PREFIX: names.subjectPrefix, GROUP: "billing" },
                stdio: ["ignore", "pipe", "inherit"]
              })
              createInterface({ input: child.stdout }).on("line", (line) => {
                if (line === "ready") Deferred.doneUnsafe(ready, Effect.void)
                else if (line.startsWith("handled ")) handledByChild.add(line.slice(8))
              })
              return child
            }),
            (child) => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL"))
          )
          yield* Deferred.await(ready)
          const pub = yield* startNode({ definitions, ...names }, () => Effect.void)
          const N = 600
          const published = yield* pub.transport.publishAll(
            OrderPlaced,
            Array.from({ length: N }, (_, i) => ({ orderId: `o-${i}`, total: i }))
          )
          yield* waitUntil(Effect.sync(() => handledByChild.size >= 40))
          const exited = new Promise((resolve) => child.once("exit", resolve))
          child.kill("SIGKILL")
          yield* Effect.promise(() => exited)
          const before = handledByChild.size
          expect(before).toBeLessThan(N)

          const survivorSaw = new Set<string>()
          const survivor = yield* startNode({ definitions, ...names, group: "billing", ackWait: "1 second" }, (bus) =>
            Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => survivorSaw.add(e.id))))
          )
          const all = () => new Set([...handledByChild, ...survivorSaw])
          yield* waitUntil(Effect.sync(() => published.every((p) => all().has(p.id))))
          expect(survivorSaw.size).toBeGreaterThanOrEqual(N - before)
          yield* waitUntil(Effect.map(survivor.transport.stats, (s) => s.inFlight === 0))
        }),
      "25 seconds"
    )
  )

  const binary = natsBinary()
  it.live.skipIf(binary === undefined)(
    "a nats-server restart (file storage): 0 acknowledged publishes lost, the consumer resumes by itself",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.acquireRelease(
          Effect.promise(() => startNats(binary!)),
          (s) => Effect.promise(() => s.dispose())
        )
        const names = { stream: "RESTART", subjectPrefix: "restart" }
        const seen = new Set<string>()
        const node = yield* startNode(
          { definitions, ...names, group: "billing", ackWait: "1 second", publishTimeout: "500 millis" },
          (bus) => Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.add(e.id)))),
          server.url
        )
        const acked = new Set<string>()
        const publish = (from: number, n: number) =>
          Effect.map(
            node.transport.publishAll(
              OrderPlaced,
              Array.from({ length: n }, (_, i) => ({ orderId: `o-${from + i}`, total: i }))
            ),
            (out) => {
              for (const p of out) acked.add(p.id)
            }
          )
        yield* publish(0, 1000)
        // A crash, not a clean stop: what JetStream acknowledged must be on disk.
        yield* Effect.promise(() => server.stop("SIGKILL"))
        const during = yield* Effect.flip(publish(1000, 10))
        expect(["NatsUnavailableError", "PublishNotAcknowledgedError"]).toContain(during._tag)
        yield* Effect.promise(() => server.start())
        yield* publish(2000, 1000).pipe(Effect.retry({ times: 100, schedule: Schedule.spaced("100 millis") }))
        yield* waitUntil(Effect.sync(() => [...acked].every((id) => seen.has(id))))
        expect(acked.size).toBe(2000)
        expect((yield* node.transport.stats).reconnects).toBeGreaterThan(0)
        // And on disk: a new group replaying from the first message finds every acknowledged one.
        const replayed = new Set<string>()
        yield* startNode(
          { definitions, ...names, group: "audit", startFrom: "first" },
          (bus) => Effect.asVoid(bus.subscribe(OrderPlaced, (e) => Effect.sync(() => replayed.add(e.id)))),
          server.url
        )
        yield* waitUntil(Effect.sync(() => replayed.size === acked.size))
        expect([...acked].every((id) => replayed.has(id))).toBe(true)
      }).pipe(Effect.timeout("25 seconds"), Effect.scoped)
  )

  it.live.skipIf(binary === undefined)(
    "a restart with memory storage: the lost stream is reported as a DataLost event and counted, and consuming goes on",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.acquireRelease(
          Effect.promise(() => startNats(binary!)),
          (s) => Effect.promise(() => s.dispose())
        )
        const names = { stream: "VOLATILE", subjectPrefix: "volatile" }
        const losses: Array<typeof Transport.DataLost.payload.Type> = []
        const seen = new Set<string>()
        const node = yield* startNode(
          { definitions, ...names, storage: "memory", group: "billing", ackWait: "600 millis" },
          (bus) =>
            Effect.gen(function* () {
              yield* bus.subscribe(Transport.DataLost, (e) => Effect.sync(() => losses.push(e.payload)))
              yield* bus.subscribe(OrderPlaced, (e) => Effect.sync(() => seen.add(e.id)))
            }),
          server.url
        )
        const first = yield* node.transport.publishAll(OrderPlaced, [{ orderId: "a", total: 1 }])
        yield* waitUntil(Effect.sync(() => seen.has(first[0]!.id)))
        yield* Effect.promise(() => server.stop("SIGKILL"))
        yield* Effect.promise(() => server.start())
        yield* waitUntil(Effect.sync(() => losses.length > 0))
        expect(losses[0]).toMatchObject({ engine: "nats", reason: "StreamMissing", stream: "VOLATILE" })
        expect((yield* node.transport.stats).dataLost).toBe(1)
        const after = yield* node.transport
          .publish(OrderPlaced, { orderId: "b", total: 2 })
          .pipe(Effect.retry({ times: 100, schedule: Schedule.spaced("100 millis") }))
        yield* waitUntil(Effect.sync(() => seen.has(after.id)))
      }).pipe(Effect.timeout("20 seconds"), Effect.scoped)
  )
})
