/**
 * Memory: each implementation in a fresh child process (--expose-gc) over the
 * same closed-loop work; heap after gc at checkpoints and peak RSS.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Profile } from "../config.ts"
import type { Progress } from "../progress.ts"
import type { Row } from "../result.ts"

const child = fileURLToPath(new URL("../memoryChild.ts", import.meta.url))

const runChild = (impl: string, events: number, checkpoints: number, timeoutMs: number) =>
  new Promise<Record<string, unknown>>((resolve, reject) => {
    const proc = spawn(process.execPath, ["--expose-gc", child, impl, String(events), String(checkpoints)], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    proc.stdout.on("data", (d) => (out += d))
    proc.stderr.on("data", (d) => (err += d))
    const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs)
    proc.on("close", (code) => {
      clearTimeout(timer)
      const line = out.trim().split("\n").pop() ?? ""
      try {
        if (code !== 0) throw new Error(`exit ${code}: ${err.trim().split("\n").slice(-3).join(" ")}`)
        resolve(JSON.parse(line))
      } catch (e) {
        reject(e)
      }
    })
  })

export const steps = (p: Profile) => p.memory.impls.length

export const run = async (p: Profile, progress: Progress): Promise<{ rows: Array<Row>; notes: Array<string> }> => {
  const rows: Array<Row> = []
  const notes: Array<string> = []
  for (const impl of p.memory.impls) {
    progress.step(`memory ${impl} ${p.memory.events.toLocaleString("en")} events`)
    try {
      const r = await runChild(impl, p.memory.events, p.memory.checkpoints, p.name === "full" ? 180_000 : 30_000)
      const heap = r.heapMB as Array<number>
      rows.push({
        scenario: "memory",
        impl,
        subscribers: 5,
        events: r.events,
        heapStartMB: heap[0],
        heapEndMB: heap[heap.length - 1],
        heapGrowthMB: heap[heap.length - 1]! - heap[0]!,
        heapMB: heap,
        peakRssMB: r.peakRssMB,
        eventsPerSec: r.eventsPerSec
      })
    } catch (e) {
      notes.push(`memory ${impl} failed: ${(e as Error).message}`)
      rows.push({ scenario: "memory", impl, error: (e as Error).message })
    }
  }
  return { rows, notes }
}
