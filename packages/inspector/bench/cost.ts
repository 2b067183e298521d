/**
 * What the inspector costs the bus: publish throughput to 5 no-op
 * subscriptions, without and with the inspector attached and one client
 * holding its event stream open, on a bus without plugins and on one with a
 * DeadLetter plugin (where the handle-time plugin joins it). Each run is its own
 * child process (so one's JIT state cannot skew another's), configurations
 * interleaved round by round; medians reported, with the ratio to bare.
 *
 *   node packages/inspector/bench/cost.ts [rounds=5] [seconds=3]
 *   MODES=dlq,dlq+inspector+handle-time node packages/inspector/bench/cost.ts
 *
 * The client runs in this (the parent) process, as a browser would in its
 * own; the child pays for sampling, encoding and sending.
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { DeadLetter, DeadLetterQueue } from "@eventfabric/plugins"
import { Effect, Layer, Option, Schema } from "effect"
import { HttpServer } from "effect/http"
import { HandleTime, Routes } from "../src/index.ts"

const Tick = Event.define("bench.tick", { payload: Schema.Struct({ n: Schema.Number }) })

type Mode = "bare" | "inspector" | "inspector+handle-time" | "dlq" | "dlq+inspector+handle-time"
const all: ReadonlyArray<Mode> = ["bare", "inspector", "inspector+handle-time", "dlq", "dlq+inspector+handle-time"]
/** `MODES=dlq,dlq+inspector+handle-time` runs a subset (each with its baseline). */
const modes: ReadonlyArray<Mode> = process.env.MODES
  ? all.filter((m) => process.env.MODES!.split(",").includes(m))
  : all

const busLayer = (mode: Mode) => {
  if (mode === "bare" || mode === "inspector") return EventBus.EventBus.layer()
  const plugins =
    mode === "dlq"
      ? Plugin.layer(DeadLetter.plugin())
      : mode === "inspector+handle-time"
        ? Plugin.layer(HandleTime.plugin()).pipe(Layer.provideMerge(HandleTime.HandleTimes.layer))
        : Plugin.layer(DeadLetter.plugin(), HandleTime.plugin()).pipe(Layer.provideMerge(HandleTime.HandleTimes.layer))
  return EventBus.EventBus.layer().pipe(Layer.provideMerge(plugins), Layer.provideMerge(DeadLetterQueue.layerMemory()))
}

/** Child: builds the configuration, prints `ready <url>`, waits for `go`, runs, prints `result <events/s>`. */
const child = (mode: Mode, seconds: number) => {
  const server = mode === "bare" || mode === "dlq" ? Layer.empty : Routes.layerServer({ port: 0 })
  const program = Effect.gen(function* () {
    const bus = yield* EventBus.EventBus
    for (let i = 0; i < 5; i++) yield* bus.subscribe(Tick, () => Effect.void, { name: `sub-${i}` })
    const server = yield* Effect.serviceOption(HttpServer.HttpServer)
    const url = Option.isSome(server)
      ? yield* Effect.provideService(Routes.url, HttpServer.HttpServer, server.value)
      : "-"
    process.stdout.write(`ready ${url}\n`)
    yield* Effect.promise(
      () => new Promise<void>((resolve) => createInterface({ input: process.stdin }).once("line", () => resolve()))
    )
    // Warm-up, then the measured window.
    const run = (ms: number) =>
      Effect.gen(function* () {
        const end = performance.now() + ms
        let n = 0
        while (performance.now() < end) {
          for (let i = 0; i < 1000; i++) yield* bus.publish(Tick, { n: n++ })
        }
        yield* bus.drain
        return n
      })
    yield* run(1000)
    const start = performance.now()
    const n = yield* run(seconds * 1000)
    process.stdout.write(`result ${(n / ((performance.now() - start) / 1000)).toFixed(0)}\n`)
  })
  return Effect.runPromise(
    Effect.scoped(program).pipe(Effect.provide(server.pipe(Layer.provideMerge(busLayer(mode)), Layer.orDie)))
  )
}

const self = fileURLToPath(import.meta.url)

const once = (mode: Mode, seconds: number) =>
  new Promise<number>((resolve, reject) => {
    const proc = spawn(process.execPath, [self, "child", mode, String(seconds)], { stdio: ["pipe", "pipe", "inherit"] })
    let stream: AbortController | undefined
    createInterface({ input: proc.stdout! }).on("line", async (line) => {
      const [word, value] = line.split(" ")
      if (word === "ready") {
        if (value !== "-") {
          stream = new AbortController()
          const response = await fetch(new URL("api/stream", value), { signal: stream.signal })
          const reader = response.body!.getReader()
          void (async () => {
            try {
              while (!(await reader.read()).done) {}
            } catch {}
          })()
        }
        proc.stdin!.write("go\n")
      } else if (word === "result") {
        stream?.abort()
        proc.kill("SIGTERM")
        resolve(Number(value))
      }
    })
    proc.on("exit", (code) => code !== 0 && code !== null && reject(new Error(`${mode} exited with ${code}`)))
  })

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

const parent = async (rounds: number, seconds: number) => {
  const results = new Map<Mode, Array<number>>(modes.map((m) => [m, []]))
  for (let r = 0; r < rounds; r++) {
    for (const mode of modes) {
      const eps = await once(mode, seconds)
      results.get(mode)!.push(eps)
      process.stderr.write(`round ${r + 1}/${rounds} ${mode}: ${eps} events/s\n`)
    }
  }
  const baseline = (mode: Mode): Mode => (mode.startsWith("dlq") ? "dlq" : "bare")
  console.log(`| configuration | median events/s (${rounds} runs of ${seconds} s) | vs without the inspector |`)
  console.log("|---|---:|---:|")
  for (const mode of modes) {
    const m = median(results.get(mode)!)
    const base = median(results.get(baseline(mode))!)
    console.log(`| ${mode} | ${Math.round(m).toLocaleString("en-US")} | ${(m / base).toFixed(2)} |`)
  }
}

if (process.argv[2] === "child") {
  child(process.argv[3] as Mode, Number(process.argv[4]))
} else {
  parent(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 3))
}
