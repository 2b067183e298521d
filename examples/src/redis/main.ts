/**
 * One publisher and two workers over Redis Streams, in one command:
 *
 *   node examples/src/redis/main.ts [orders=20]
 *
 * Starts two worker processes (one consumer group: each order is handled by
 * one of them), then the publisher; waits until every order was handled,
 * prints who did what, stops the workers and deletes the example's keys.
 *
 * Redis comes from `REDIS_URL` (default redis://127.0.0.1:6379); when nothing
 * answers there it says so at once and exits 1. SIGINT or SIGTERM stops the
 * workers, deletes the keys and exits (130 / 143).
 */

import { type ChildProcess, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { connect } from "node:net"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { RedisConnection } from "@eventfabric/redis"
import { Effect } from "effect"
import { Redis } from "effect/persistence/Redis"
import { url } from "./events.ts"

const orders = Number(process.argv[2] ?? 20)
const prefix = `example:${randomUUID().slice(0, 8)}`
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

const start = (file: string, env: Record<string, string>, onLine: (line: string) => void): ChildProcess => {
  const child = spawn(process.execPath, [here(file)], { env: { ...process.env, PREFIX: prefix, ...env } })
  createInterface({ input: child.stdout! }).on("line", onLine)
  child.stderr!.pipe(process.stderr)
  return child
}

/** Resolves with the connection error, or undefined once Redis's port answers (within 2 s). */
const unreachable = (target: URL) =>
  new Promise<string | undefined>((resolve) => {
    const socket = connect({ host: target.hostname, port: Number(target.port || 6379), timeout: 2_000 })
    socket.once("connect", () => {
      socket.destroy()
      resolve(undefined)
    })
    socket.once("timeout", () => {
      socket.destroy()
      resolve("no answer within 2 s")
    })
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
  })

const problem = await unreachable(new URL(url))
if (problem !== undefined) {
  console.error(
    `Redis is unreachable at ${url} (${problem}). Start one (redis-server --port 6379) or point REDIS_URL at it.`
  )
  process.exit(1)
}

const handled = new Map<string, string>()
let ready = 0
const workers = ["w1", "w2"].map((name) =>
  start("./worker.ts", { WORKER: name }, (line) => {
    if (line.startsWith("ready")) ready++
    const match = /^handled (\S+) by (\S+)/.exec(line)
    if (match) {
      handled.set(match[1]!, match[2]!)
      console.log(line)
    }
  })
)

const until = async (condition: () => boolean, ms: number) => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}

const cleanup = () =>
  Effect.runPromise(
    Effect.gen(function* () {
      const redis = yield* Redis
      const [, keys] = yield* redis.send<[string, Array<string>]>("SCAN", "0", "MATCH", `${prefix}*`, "COUNT", "1000")
      if (keys.length > 0) yield* redis.send("DEL", ...keys)
    }).pipe(Effect.provide(RedisConnection.layer({ url })), Effect.ignore)
  )

const stop = async (signal: NodeJS.Signals) => {
  for (const w of workers) w.kill("SIGTERM")
  await cleanup()
  console.log(`stopped by ${signal}: ${handled.size}/${orders} handled`)
  process.exit(signal === "SIGINT" ? 130 : 143)
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)

const main = async () => {
  let ok = await until(() => ready === 2, 15_000)
  if (ok) {
    start("./publisher.ts", { COUNT: String(orders) }, (line) => console.log(line))
    ok = await until(() => handled.size === orders, 15_000)
  }
  for (const w of workers) w.kill("SIGTERM")
  await cleanup()
  const by: Record<string, number> = {}
  for (const w of handled.values()) by[w] = (by[w] ?? 0) + 1
  console.log(
    ok ? `all ${orders} orders handled: ${JSON.stringify(by)}` : `timed out: ${handled.size}/${orders} handled`
  )
  process.exit(ok ? 0 : 1)
}

void main()
