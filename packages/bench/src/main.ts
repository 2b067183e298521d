/**
 * `pnpm bench` (standard, <= 3 minutes on 2 cores) and `pnpm bench --full`.
 * Runs every scenario for eventfabric and its peers, prints a table, writes
 * results/latest.{json,md} and results/latency.svg, exits 1 when a gated
 * target fails. `--only=throughput,latency,...` runs a subset (the gate then
 * judges only what ran: a missing gated figure fails).
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { full, type Profile, standard } from "./config.ts"
import { all } from "./impls/index.ts"
import { openLoop } from "./loadgen.ts"
import { Progress } from "./progress.ts"
import { textTable } from "./report/format.ts"
import { sections } from "./report/sections.ts"
import { write } from "./report/write.ts"
import type { Row } from "./result.ts"
import * as capacity from "./scenarios/capacity.ts"
import { closed } from "./scenarios/closed.ts"
import * as isolation from "./scenarios/isolation.ts"
import * as latency from "./scenarios/latency.ts"
import * as memory from "./scenarios/memory.ts"
import * as overload from "./scenarios/overload.ts"
import * as plugins from "./scenarios/plugins.ts"
import * as throughput from "./scenarios/throughput.ts"
import { evaluateAll, failures, specs } from "./targets.ts"

// gc() between runs keeps one run's garbage out of the next one's latency.
if (typeof globalThis.gc !== "function") {
  const r = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit"
  })
  process.exit(r.status ?? 1)
}

const args = process.argv.slice(2)
const profile: Profile = args.includes("--full") ? full : standard
const onlyArg = args.find((a) => a.startsWith("--only="))
const only = onlyArg ? new Set(onlyArg.slice("--only=".length).split(",")) : undefined
const enabled = (s: string) => only === undefined || only.has(s)

const effectVersion = (() => {
  try {
    return JSON.parse(readFileSync(new URL("../node_modules/effect/package.json", import.meta.url), "utf8")).version
  } catch {
    return "unknown"
  }
})()

const meta = {
  node: process.version,
  effect: effectVersion,
  cpus: cpus().length,
  date: new Date().toISOString(),
  profile: profile.name,
  loadAverageStart: loadavg()
    .map((x) => x.toFixed(2))
    .join(" "),
  reps: profile.reps,
  only: only ? [...only] : undefined
}

const totalSteps =
  all.length +
  (enabled("throughput") ? throughput.steps(all, profile) : 0) +
  (enabled("latency") ? latency.steps(all, profile) : 0) +
  (enabled("isolation") ? isolation.steps(all, profile) : 0) +
  (enabled("capacity") ? capacity.steps(profile) : 0) +
  (enabled("overload") ? overload.steps(profile) : 0) +
  (enabled("plugins") ? plugins.steps(profile) : 0) +
  (enabled("memory") ? memory.steps(profile) : 0)
const progress = new Progress(Math.round(totalSteps))

const rows: Array<Row> = []
const notes: Array<string> = []

// Warm-up: JIT every implementation's paths before anything is measured.
for (const impl of all) {
  progress.step(`warm-up ${impl.name}`)
  const c = await closed(impl, 5)
  for (let i = 0; i < 5; i++) await c.run(2000)
  await c.instance.close()
  const r = await openLoop(impl, { rate: 20_000, durationMs: 150, warmupMs: 0, subscribers: 5 })
  r.start.destroy()
  r.done.destroy()
  r.sendLag.destroy()
}

if (enabled("throughput")) rows.push(...(await throughput.run(all, profile, progress)))
if (enabled("latency")) rows.push(...(await latency.run(all, profile, progress)))
if (enabled("isolation")) rows.push(...(await isolation.run(all, profile, progress)))
let cap = 0
if (enabled("capacity")) {
  const c = await capacity.run(profile, progress)
  cap = (c[0]?.capacity as number | undefined) ?? 0
  rows.push(...c)
}
if (enabled("overload")) {
  const tp = rows.find((r) => r.scenario === "throughput" && r.impl === "eventfabric" && r.subscribers === 5)
  rows.push(...(await overload.run(cap, (tp?.eventsPerSec as number | undefined) ?? 0, profile, progress)))
}
if (enabled("plugins")) {
  const r = await plugins.run(profile, progress)
  rows.push(...r.rows)
  notes.push(...r.notes)
}
if (enabled("memory")) {
  const r = await memory.run(profile, progress)
  rows.push(...r.rows)
  notes.push(...r.notes)
}
progress.end()

const targets = evaluateAll(specs, rows)
const failed = failures(targets)
const durationSec = Math.round(progress.elapsedSec)
const loadEnd = loadavg()
  .map((x) => x.toFixed(2))
  .join(" ")
notes.push(
  `load average at start ${meta.loadAverageStart}, at end ${loadEnd} on ${meta.cpus} cpus: other processes share the machine, expect noise of several percent in throughput and in latency tails`
)
const files = write({ meta: { ...meta, durationSec, loadAverageEnd: loadEnd }, results: rows, targets, notes })

for (const s of sections(rows, targets)) process.stdout.write(`\n${s.title}\n${textTable(s.header, s.rows)}\n`)
for (const n of notes) process.stdout.write(`note: ${n}\n`)
process.stdout.write(`\nwrote ${files.join(", ")} in ${durationSec} s\n`)
if (failed.length > 0) {
  process.stdout.write(
    `\nGATE FAILED: ${failed.map((t) => `${t.name} = ${t.value} ${t.unit} (limit ${t.limit})`).join("; ")}\n`
  )
  process.exit(1)
}
process.stdout.write("all gated targets pass\n")
process.exit(0)
