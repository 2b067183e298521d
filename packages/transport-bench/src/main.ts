/**
 * `pnpm bench:transports`: each engine's transport beside its raw client,
 * across processes on loopback (1 publisher + 2 consumers in one group), on
 * the same work: the same JSON envelope, acked publishes, consume + decode +
 * ack. Interleaved (raw, eventfabric, raw, ...) so machine noise hits both.
 *
 * - closed loop: the publisher sends as fast as acks come back (batches of
 *   500, 4 in flight); figure = events / (first publish → last delivery);
 * - fixed rate: the schedule decides when a batch is sent (every 10 ms);
 *   p50 / p95 of publish → delivery, across processes on one clock;
 * - CPU microseconds per event of the publisher and of both consumers
 *   (steadier than rates on a shared machine).
 *
 *   node packages/transport-bench/src/main.ts [--runs 1] [--only redis|nats]
 *
 * Servers: REDIS_URL (redis://127.0.0.1:6379), NATS_URL (nats://127.0.0.1:4222);
 * each run uses keys / a stream of its own and deletes them after.
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import { createInterface, type Interface } from "node:readline"
import { fileURLToPath } from "node:url"
import { impl as natsEventfabric } from "./impl/nats-eventfabric.ts"
import { impl as natsRaw } from "./impl/nats-raw.ts"
import { impl as redisEventfabric } from "./impl/redis-eventfabric.ts"
import { impl as redisRaw } from "./impl/redis-raw.ts"
import { type Impl, type Item, now } from "./impl/types.ts"

const impls: Record<string, Impl> = {
  "redis-raw": redisRaw,
  "redis-eventfabric": redisEventfabric,
  "nats-raw": natsRaw,
  "nats-eventfabric": natsEventfabric
}

const plan = {
  redis: { closed: 100_000, rate: 10_000 },
  nats: { closed: 20_000, rate: 5_000 }
} as const
const PACED_SECONDS = 2
const BATCH = 500
const WINDOW = 4

// ---- child roles ---------------------------------------------------------

const consumerRole = async (name: string, ns: string, consumer: string) => {
  const latencies: Array<number> = []
  let last = 0
  const stop = await impls[name]!.consumer(ns, consumer, (sent) => {
    last = now()
    latencies.push(last - sent)
  })
  console.log("ready")
  const cpu = process.cpuUsage()
  const timer = setInterval(() => console.log(`progress ${latencies.length}`), 50)
  await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once("line", () => resolve()))
  clearInterval(timer)
  const used = process.cpuUsage(cpu)
  const sample = latencies.filter((_, i) => i % Math.max(1, Math.floor(latencies.length / 20_000)) === 0)
  console.log(`report ${JSON.stringify({ count: latencies.length, last, cpuUs: used.user + used.system, sample })}`)
  await stop().catch(() => {})
}

const publisherRole = async (name: string, ns: string, mode: string, events: number, rate: number) => {
  const pub = await impls[name]!.publisher(ns)
  console.log("ready")
  await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once("line", () => resolve()))
  const cpu = process.cpuUsage()
  const first = now()
  let n = 0
  const batch = (size: number): Array<Item> => {
    const sent = now()
    return Array.from({ length: size }, () => ({ n: n++, sent }))
  }
  if (mode === "closed") {
    const worker = async () => {
      while (n < events) await pub.publish(batch(Math.min(BATCH, events - n)))
    }
    await Promise.all(Array.from({ length: WINDOW }, worker))
  } else {
    // Open loop: batch k leaves at first + 10k ms, whatever the previous ones are doing.
    const perTick = Math.max(1, Math.round(rate / 100))
    const inFlight: Array<Promise<void>> = []
    for (let k = 0; n < events; k++) {
      const wait = first + k * 10 - now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      inFlight.push(pub.publish(batch(Math.min(perTick, events - n))))
    }
    await Promise.all(inFlight)
  }
  const done = now()
  const used = process.cpuUsage(cpu)
  console.log(`published ${JSON.stringify({ first, done, cpuUs: used.user + used.system })}`)
  await pub.close().catch(() => {})
}

// ---- orchestration -------------------------------------------------------

const self = fileURLToPath(import.meta.url)

const child = (args: ReadonlyArray<string>) => {
  const proc = spawn(process.execPath, [...process.execArgv, self, ...args], { stdio: ["pipe", "pipe", "inherit"] })
  return { proc, lines: createInterface({ input: proc.stdout! }) }
}

const waitLine = (lines: Interface, prefix: string, timeoutMs = 60_000) =>
  new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${prefix}" within ${timeoutMs} ms`)), timeoutMs)
    const on = (line: string) => {
      if (!line.startsWith(prefix)) return
      lines.off("line", on)
      clearTimeout(timer)
      resolve(line.slice(prefix.length).trim())
    }
    lines.on("line", on)
  })

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

interface Row {
  readonly scenario: "transport-closed-loop" | "transport-fixed-rate"
  readonly engine: string
  readonly impl: string
  readonly events: number
  readonly received: number
  readonly eventsPerSec: number
  readonly rate?: number
  readonly p50Us: number
  readonly p95Us: number
  readonly publisherCpuUs: number
  readonly consumersCpuUs: number
}

const runOnce = async (name: string, mode: "closed" | "paced"): Promise<Row> => {
  const impl = impls[name]!
  const target = plan[impl.engine]
  const events = mode === "closed" ? target.closed : target.rate * PACED_SECONDS
  const ns = randomUUID().replaceAll("-", "").slice(0, 10)
  await impl.setup(ns)
  const all: Array<ReturnType<typeof child>> = []
  try {
    const consumers = [child(["consumer", name, ns, "c1"]), child(["consumer", name, ns, "c2"])]
    all.push(...consumers)
    await Promise.all(consumers.map((c) => waitLine(c.lines, "ready")))
    const progress = [0, 0]
    consumers.forEach((c, i) => {
      c.lines.on("line", (l) => {
        if (l.startsWith("progress ")) progress[i] = Number(l.slice(9))
      })
    })
    const pub = child(["publisher", name, ns, mode, String(events), String(target.rate)])
    all.push(pub)
    await waitLine(pub.lines, "ready")
    pub.proc.stdin!.write("go\n")
    const published = JSON.parse(await waitLine(pub.lines, "published", 120_000)) as {
      first: number
      done: number
      cpuUs: number
    }
    const deadline = Date.now() + 30_000
    while (progress[0]! + progress[1]! < events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    const reports = await Promise.all(
      consumers.map(async (c) => {
        const report = waitLine(c.lines, "report", 10_000)
        c.proc.stdin!.write("report\n")
        return JSON.parse(await report) as { count: number; last: number; cpuUs: number; sample: Array<number> }
      })
    )
    const received = reports.reduce((s, r) => s + r.count, 0)
    const last = Math.max(...reports.map((r) => r.last))
    const latencies = reports.flatMap((r) => r.sample).sort((a, b) => a - b)
    return {
      scenario: mode === "closed" ? "transport-closed-loop" : "transport-fixed-rate",
      engine: impl.engine,
      impl: impl.name,
      events,
      received,
      eventsPerSec: Math.round(received / ((last - published.first) / 1000)),
      ...(mode === "paced" ? { rate: target.rate } : {}),
      p50Us: Math.round(percentile(latencies, 50) * 1000),
      p95Us: Math.round(percentile(latencies, 95) * 1000),
      publisherCpuUs: +(published.cpuUs / events).toFixed(2),
      consumersCpuUs: +(reports.reduce((s, r) => s + r.cpuUs, 0) / events).toFixed(2)
    }
  } finally {
    // Children exit by themselves after reporting (so --cpu-prof profiles get written); bounded.
    await Promise.all(
      all.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.proc.exitCode !== null) return resolve()
            const timer = setTimeout(() => {
              c.proc.kill("SIGKILL")
              resolve()
            }, 3_000)
            c.proc.once("exit", () => {
              clearTimeout(timer)
              resolve()
            })
          })
      )
    )
    await impl.teardown(ns).catch(() => {})
  }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

const main = async () => {
  const args = process.argv.slice(2)
  const runs = Number(args[args.indexOf("--runs") + 1] || 1) || 1
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined
  const order = ["redis-raw", "redis-eventfabric", "nats-raw", "nats-eventfabric"].filter(
    (n) => only === undefined || n.startsWith(only)
  )
  const rows: Array<Row> = []
  const started = Date.now()
  for (const mode of ["closed", "paced"] as const) {
    for (let r = 0; r < runs; r++) {
      for (const name of order) {
        process.stderr.write(
          `\r${mode} ${name} run ${r + 1}/${runs} (${Math.round((Date.now() - started) / 1000)} s)   `
        )
        const row = await runOnce(name, mode)
        process.stderr.write(`${JSON.stringify(row)}\n`)
        rows.push(row)
      }
    }
  }
  process.stderr.write("\n")
  const summary: Array<Row & { ratioToRaw: number; lost: number }> = []
  for (const mode of ["transport-closed-loop", "transport-fixed-rate"] as const) {
    for (const name of order) {
      const impl = impls[name]!
      const mine = rows.filter((row) => row.scenario === mode && row.impl === impl.name)
      if (mine.length === 0) continue
      const raw = rows.filter(
        (row) => row.scenario === mode && row.engine === impl.engine && row.impl.endsWith("raw client")
      )
      const pick = (k: "eventsPerSec" | "p50Us" | "p95Us" | "publisherCpuUs" | "consumersCpuUs") =>
        median(mine.map((m) => m[k]))
      const eventsPerSec = pick("eventsPerSec")
      summary.push({
        ...mine[0]!,
        eventsPerSec,
        p50Us: pick("p50Us"),
        p95Us: pick("p95Us"),
        publisherCpuUs: pick("publisherCpuUs"),
        consumersCpuUs: pick("consumersCpuUs"),
        received: median(mine.map((m) => m.received)),
        lost: Math.max(...mine.map((m) => m.events - m.received)),
        ratioToRaw: raw.length === 0 ? 1 : +(eventsPerSec / median(raw.map((m) => m.eventsPerSec))).toFixed(2)
      })
    }
  }
  console.log("| scenario | impl | ev/s | ratio to raw | p50 ms | p95 ms | publisher µs/ev | consumers µs/ev | lost |")
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|")
  for (const s of summary) {
    const scenario = s.scenario === "transport-closed-loop" ? "closed loop" : `fixed ${s.rate} ev/s`
    console.log(
      `| ${scenario} | ${s.impl} | ${s.eventsPerSec} | ${s.ratioToRaw} | ${(s.p50Us / 1000).toFixed(1)} | ${(s.p95Us / 1000).toFixed(1)} | ${s.publisherCpuUs} | ${s.consumersCpuUs} | ${s.lost} |`
    )
  }
  const out = fileURLToPath(new URL("../results/", import.meta.url))
  mkdirSync(out, { recursive: true })
  writeFileSync(
    `${out}latest.json`,
    `${JSON.stringify({ meta: { node: process.version, date: new Date().toISOString(), runs }, results: summary }, null, 2)}\n`
  )
  const lost = summary.some((s) => s.lost > 0)
  if (lost) console.error("events were lost: failing")
  process.exitCode = lost ? 1 : 0
}

const [role, ...rest] = process.argv.slice(2)
if (role === "consumer")
  consumerRole(rest[0]!, rest[1]!, rest[2]!).then(() => process.stdout.write("", () => process.exit(0)))
else if (role === "publisher")
  publisherRole(rest[0]!, rest[1]!, rest[2]!, Number(rest[3]), Number(rest[4])).then(() => process.exit(0))
else main().then(() => process.exit(process.exitCode ?? 0))
