/**
 * Parent side of the process boundary: every measurement runs in a fresh
 * child process (`child.ts`, with --expose-gc), so one implementation's JIT
 * and GC state cannot skew another's. A job is a plain JSON value naming its
 * scenario; the child prints its result as the last line of stdout.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Profile } from "./config.ts"
import type { Progress } from "./progress.ts"
import type { Row } from "./result.ts"

export interface Job {
  /** The module in `scenarios/` whose `measure` runs the job. */
  readonly scenario: string
  readonly [key: string]: unknown
}

export const RESULT_MARK = "@@bench-result "

const childPath = fileURLToPath(new URL("./child.ts", import.meta.url))

/** Runs `job` in a child process; rejects with the child's last stderr lines on failure or timeout. */
export const runJob = (job: Job, timeoutMs: number): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--expose-gc", childPath, JSON.stringify(job)], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    proc.stdout.on("data", (d) => (out += d))
    proc.stderr.on("data", (d) => (err += d))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      proc.kill("SIGKILL")
    }, timeoutMs)
    proc.on("close", (code) => {
      clearTimeout(timer)
      const line = out
        .split("\n")
        .reverse()
        .find((l) => l.startsWith(RESULT_MARK))
      const tail = err.trim().split("\n").slice(-3).join(" | ")
      if (timedOut) return reject(new Error(`${job.scenario}: no result in ${timeoutMs} ms ${tail}`.trim()))
      if (code !== 0 || line === undefined) return reject(new Error(`${job.scenario}: exit ${code} ${tail}`.trim()))
      try {
        resolve(JSON.parse(line.slice(RESULT_MARK.length)))
      } catch (e) {
        reject(e)
      }
    })
  })

/** What a scenario's parent side gets: the profile, progress, notes, the rows so far and the job runner. */
export interface Ctx {
  readonly profile: Profile
  readonly progress: Progress
  readonly notes: Array<string>
  readonly rows: ReadonlyArray<Row>
  /** Implementations of the throughput/latency suite (the peers, plus what this core adds). */
  readonly impls: ReadonlyArray<string>
  /** Runs one job in a child process; undefined (and a note) when the child failed. */
  readonly run: <A>(label: string, job: Job, timeoutMs?: number) => Promise<A | undefined>
}
