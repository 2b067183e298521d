/**
 * `pnpm bench` (standard: <= 5 minutes on 2 cores), `--quick` (development),
 * `--full`. Runs every scenario, each measurement in its own child process,
 * prints the tables, writes results/latest.{json,md} and results/latency.svg,
 * and exits 1 when a gated target fails.
 *
 * - `--only=suite,stuck,isolation,chain,capacity,overload,plugins,redaction,memory` runs a
 *   subset (the gate then judges only what ran: a missing gated figure fails).
 * - `--runs=N` runs the selection N times back to back and reports the
 *   5-subscription throughput of each run (the reproducibility check); the
 *   tables show the last run.
 */
import { readFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { full, type Profile, quick, standard } from "./config.ts"
import { detect } from "./impls/detect.ts"
import { all } from "./impls/index.ts"
import { Progress } from "./progress.ts"
import { textTable } from "./report/format.ts"
import { sections } from "./report/sections.ts"
import { resultsDir, write } from "./report/write.ts"
import type { Row } from "./result.ts"
import { type Ctx, type Job, runJob } from "./runner.ts"
import * as capacity from "./scenarios/capacity.ts"
import * as chain from "./scenarios/chain.ts"
import * as isolation from "./scenarios/isolation.ts"
import * as memory from "./scenarios/memory.ts"
import * as overload from "./scenarios/overload.ts"
import * as plugins from "./scenarios/plugins.ts"
import * as redaction from "./scenarios/redaction.ts"
import { HARNESS, reproducibility } from "./scenarios/repro.ts"
import * as stuck from "./scenarios/stuck.ts"
import * as suite from "./scenarios/suite.ts"
import { evaluateAll, failures, specs } from "./targets.ts"

const args = process.argv.slice(2)
const profile: Profile = args.includes("--full") ? full : args.includes("--quick") ? quick : standard
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const only = flag("only") === undefined ? undefined : new Set(flag("only")!.split(","))
const runs = Math.max(1, Number(flag("runs") ?? 1))
const enabled = (s: string) => only === undefined || only.has(s)
const partialRun = only !== undefined || profile.name === "quick"

const effectVersion = (() => {
  try {
    return JSON.parse(readFileSync(new URL("../node_modules/effect/package.json", import.meta.url), "utf8")).version
  } catch {
    return "unknown"
  }
})()
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")

const previous = (() => {
  try {
    return JSON.parse(readFileSync(`${resultsDir}${partialRun ? "dev/" : ""}latest.json`, "utf8")) as {
      meta?: Record<string, unknown>
      results?: Array<Row>
    }
  } catch {
    return undefined
  }
})()

const features = await detect()
const impls = [...all.map((i) => i.name), ...(features.publishAll ? ["eventfabric-publishAll"] : [])]

const scenarios: ReadonlyArray<{
  readonly name: string
  readonly steps: (p: Profile) => number
  readonly run: (ctx: Ctx) => Promise<Array<Row>>
}> = [
  { name: "suite", steps: (p) => suite.steps(p, impls.length), run: suite.run },
  { name: "stuck", steps: stuck.steps, run: stuck.run },
  { name: "isolation", steps: isolation.steps, run: isolation.run },
  { name: "chain", steps: chain.steps, run: chain.run },
  { name: "capacity", steps: capacity.steps, run: capacity.run },
  { name: "overload", steps: overload.steps, run: overload.run },
  { name: "plugins", steps: plugins.steps, run: plugins.run },
  { name: "redaction", steps: redaction.steps, run: redaction.run },
  { name: "memory", steps: memory.steps, run: memory.run }
]
const selected = scenarios.filter((s) => enabled(s.name))
if (only !== undefined) {
  const unknown = [...only].filter((s) => !scenarios.some((x) => x.name === s))
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(", ")}`)
}

const meta = {
  node: process.version,
  effect: effectVersion,
  cpus: cpus().length,
  date: new Date().toISOString(),
  profile: profile.name,
  loadAverageStart: load(),
  reps: profile.suite.reps,
  runs,
  harness: HARNESS,
  isolation: "one child process per implementation per repetition, interleaved",
  core: features,
  only: only ? [...only] : undefined
}

const progress = new Progress(runs * selected.reduce((n, s) => n + s.steps(profile), 0))
const notes: Array<string> = []
const perRun: Array<Array<Row>> = []
for (let k = 0; k < runs; k++) {
  const rows: Array<Row> = []
  const ctx: Ctx = {
    profile,
    progress,
    notes,
    rows,
    impls,
    run: async <A>(label: string, job: Job, timeoutMs = 60_000) => {
      progress.step(runs > 1 ? `run ${k + 1}/${runs}: ${label}` : label)
      try {
        return (await runJob(job, timeoutMs)) as A
      } catch (e) {
        const message = String((e as Error)?.message ?? e).slice(0, 300)
        notes.push(`${label} failed: ${message}`)
        progress.note(`${label} failed: ${message}`)
        return undefined
      }
    }
  }
  for (const s of selected) rows.push(...(await s.run(ctx)))
  perRun.push(rows)
}
progress.end()

const rows = [...perRun[perRun.length - 1]!]
const repro = reproducibility(perRun, profile.name, previous)
if (repro !== undefined) rows.push(repro)
if (!features.mailboxStrategy) {
  notes.push(
    "this core takes a mailbox as a number: the stuck, isolation and chain scenarios ran with the capacity alone (no strategy); see meta.core"
  )
}

const targets = evaluateAll(specs, rows)
const failed = failures(targets)
const durationSec = Math.round(progress.elapsedSec)
const loadEnd = load()
notes.push(
  `load average at start ${meta.loadAverageStart}, at end ${loadEnd} on ${meta.cpus} cpus: other processes share the machine, expect noise of several percent in throughput and in latency tails`
)
// Partial and quick runs go to results/dev/ (untracked), so they never replace the committed report.
const files = write(
  { meta: { ...meta, durationSec, loadAverageEnd: loadEnd }, results: rows, targets, notes },
  partialRun ? `${resultsDir}dev/` : resultsDir
)

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
