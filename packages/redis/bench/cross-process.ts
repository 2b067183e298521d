/**
 * Cross-process bench of the Redis transport on loopback: one publisher
 * process, two consumer processes in one group, Redis at 127.0.0.1:6379.
 *
 *   node packages/redis/bench/cross-process.ts [events=100000] [runs=3]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof packages/redis/bench/cross-process.ts 100000 1
 *
 * (node flags are passed on to the child processes: one profile each.)
 *
 * Prints, per run and as the median of the runs: end-to-end events/s (first
 * publish to last local delivery), latency percentiles (publish call to local
 * handler, across processes on one clock) and CPU microseconds per event of
 * the publisher and of both consumers together (steadier than rates when the
 * machine is shared).
 */

import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Event, EventBus } from "@eventfabric/core"
import { Effect, Layer, Schema } from "effect"
import { Redis } from "effect/persistence/Redis"
import { RedisConnection, RedisDeadLetterStore, RedisTransport } from "../src/index.ts"

const Tick = Event.define("bench.tick", { payload: Schema.Struct({ n: Schema.Number }) })
const definitions = [Tick]
const SENT = "bench-sent"
const now = () => performance.timeOrigin + performance.now()
const Connection = RedisConnection.layer({ url: "redis://127.0.0.1:6379" })

const [, , role = "main", ...rest] = process.argv

// ---- consumer process ------------------------------------------------------

const consumer = (prefix: string, name: string) =>
  Effect.gen(function* () {
    const latencies: Array<number> = []
    let last = 0
    const bus = yield* EventBus.EventBus
    yield* bus.subscribe(
      Tick,
      (e) =>
        Effect.sync(() => {
          last = now()
          latencies.push(last - Number(e.headers?.[SENT]))
        }),
      { name: "count" }
    )
    yield* (yield* RedisTransport.RedisTransport).start
    console.log("ready")
    const cpu = process.cpuUsage()
    const timer = setInterval(() => console.log(`progress ${latencies.length}`), 50)
    yield* Effect.callback<void>((resume) => {
      createInterface({ input: process.stdin }).on("line", () => resume(Effect.void))
    })
    clearInterval(timer)
    const used = process.cpuUsage(cpu)
    console.log(
      `report ${JSON.stringify({ count: latencies.length, last, cpuUs: used.user + used.system, latencies })}`
    )
  }).pipe(
    Effect.scoped,
    Effect.provide(
      Layer.mergeAll(
        EventBus.EventBus.layer({ lanes: { normal: { capacity: 16_384, strategy: "suspend" } } }),
        RedisTransport.RedisTransport.layer({
          definitions,
          prefix,
          group: "bench",
          consumer: name,
          readCount: 512,
          maxInFlight: 4096,
          maxLen: 1_000_000
        }),
        RedisDeadLetterStore.layer({ prefix: `${prefix}:dlq` })
      ).pipe(Layer.provide(Connection))
    )
  )

// ---- publisher process -----------------------------------------------------

const publisher = (prefix: string, events: number) =>
  Effect.gen(function* () {
    const transport = yield* RedisTransport.make({ definitions, prefix, maxLen: 1_000_000 })
    const first = now()
    const cpu = process.cpuUsage()
    // Batches of 500 through publishAll, 4 in flight: one parked fiber per batch, not per event.
    const batches = Array.from({ length: Math.ceil(events / 500) }, (_, b) =>
      Array.from({ length: Math.min(500, events - b * 500) }, (_, i) => ({ n: b * 500 + i }))
    )
    yield* Effect.forEach(
      batches,
      (batch) => Effect.suspend(() => transport.publishAll(Tick, batch, { headers: { [SENT]: String(now()) } })),
      { concurrency: 4, discard: true }
    )
    const done = now()
    const used = process.cpuUsage(cpu)
    console.log(`published ${JSON.stringify({ first, done, cpuUs: used.user + used.system })}`)
  }).pipe(Effect.scoped, Effect.provide(Connection))

// ---- orchestration ---------------------------------------------------------

const self = fileURLToPath(import.meta.url)

const child = (args: ReadonlyArray<string>) => {
  // execArgv passes on flags such as --cpu-prof, so every process can be profiled.
  const proc = spawn(process.execPath, [...process.execArgv, self, ...args], { stdio: ["pipe", "pipe", "inherit"] })
  const lines = createInterface({ input: proc.stdout! })
  return { proc, lines }
}

const waitLine = (lines: ReturnType<typeof createInterface>, prefix: string) =>
  new Promise<string>((resolve) => {
    const on = (line: string) => {
      if (!line.startsWith(prefix)) return
      lines.off("line", on)
      resolve(line.slice(prefix.length).trim())
    }
    lines.on("line", on)
  })

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

const runOnce = async (events: number) => {
  const prefix = `efbench:${randomUUID().slice(0, 8)}`
  const consumers = [child(["consumer", prefix, "c1"]), child(["consumer", prefix, "c2"])]
  await Promise.all(consumers.map((c) => waitLine(c.lines, "ready")))
  const progress = [0, 0]
  consumers.forEach((c, i) => {
    c.lines.on("line", (l) => {
      if (l.startsWith("progress ")) progress[i] = Number(l.slice(9))
    })
  })
  const pub = child(["publisher", prefix, String(events)])
  const published = JSON.parse(await waitLine(pub.lines, "published")) as {
    first: number
    done: number
    cpuUs: number
  }
  const deadline = Date.now() + 120_000
  while (progress[0]! + progress[1]! < events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  const reports = await Promise.all(
    consumers.map(async (c) => {
      const report = waitLine(c.lines, "report")
      c.proc.stdin!.write("report\n")
      return JSON.parse(await report) as { count: number; last: number; cpuUs: number; latencies: Array<number> }
    })
  )
  // Consumers exit by themselves after reporting (so --cpu-prof profiles get written); bounded.
  await Promise.all(
    [...consumers, pub].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.proc.exitCode !== null) return resolve()
          const timer = setTimeout(() => {
            c.proc.kill("SIGTERM")
            resolve()
          }, 5_000)
          c.proc.once("exit", () => {
            clearTimeout(timer)
            resolve()
          })
        })
    )
  )
  await cleanup(prefix)
  const received = reports.reduce((n, r) => n + r.count, 0)
  const last = Math.max(...reports.map((r) => r.last))
  const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b)
  return {
    events,
    received,
    split: reports.map((r) => r.count),
    publishPerSec: Math.round(events / ((published.done - published.first) / 1000)),
    eventsPerSec: Math.round(received / ((last - published.first) / 1000)),
    p50Ms: +percentile(latencies, 50).toFixed(1),
    p95Ms: +percentile(latencies, 95).toFixed(1),
    p99Ms: +percentile(latencies, 99).toFixed(1),
    // CPU time per event, less sensitive than rates to other load on the machine.
    publisherCpuUs: +(published.cpuUs / events).toFixed(2),
    consumersCpuUs: +(reports.reduce((n, r) => n + r.cpuUs, 0) / events).toFixed(2)
  }
}

const cleanup = (prefix: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const redis = yield* Redis
      yield* redis.send("DEL", `${prefix}:bench.tick`)
    }).pipe(Effect.provide(Connection), Effect.ignore)
  )

const main = async (events: number, runs: number) => {
  const results: Array<Awaited<ReturnType<typeof runOnce>>> = []
  for (let i = 0; i < runs; i++) {
    const r = await runOnce(events)
    console.log(`run ${i + 1}/${runs}`, JSON.stringify(r))
    results.push(r)
  }
  const median = (
    k: "eventsPerSec" | "p95Ms" | "p50Ms" | "p99Ms" | "publishPerSec" | "publisherCpuUs" | "consumersCpuUs"
  ) => results.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(results.length / 2)]
  console.log(
    "median",
    JSON.stringify({
      scenario: "redis-cross-process",
      impl: "eventfabric",
      events,
      runs,
      eventsPerSec: median("eventsPerSec"),
      publishPerSec: median("publishPerSec"),
      p50Ms: median("p50Ms"),
      p95Ms: median("p95Ms"),
      p99Ms: median("p99Ms"),
      publisherCpuUs: median("publisherCpuUs"),
      consumersCpuUs: median("consumersCpuUs")
    })
  )
}

// Exit once stdout has flushed the report (a pipe is written asynchronously).
if (role === "consumer") {
  Effect.runPromise(consumer(rest[0]!, rest[1]!)).then(() => process.stdout.write("", () => process.exit(0)))
} else if (role === "publisher") Effect.runPromise(publisher(rest[0]!, Number(rest[1]))).then(() => process.exit(0))
else main(Number(role === "main" ? 100_000 : role), Number(rest[0] ?? 3)).then(() => process.exit(0))
