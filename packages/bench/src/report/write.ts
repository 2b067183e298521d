/** Writes latest.json, latest.md and latency.svg into packages/bench/results. */
import { mkdirSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type { Row, Target } from "../result.ts"
import { mdTable } from "./format.ts"
import { type Section, sections } from "./sections.ts"
import { latencySvg } from "./svg.ts"

export const resultsDir = fileURLToPath(new URL("../../results/", import.meta.url))

export interface Report {
  readonly meta: Record<string, unknown>
  readonly results: ReadonlyArray<Row>
  readonly targets: ReadonlyArray<Target>
  readonly notes: ReadonlyArray<string>
}

export const markdown = (report: Report, secs: ReadonlyArray<Section>): string => {
  const m = report.meta
  const lines = [
    "# eventfabric bench: latest run",
    "",
    `Profile **${m.profile}**, ${m.date}, node ${m.node}, effect ${m.effect}, ${m.cpus} cpus, load average at start ${m.loadAverageStart}, ${m.durationSec} s.`,
    "Each figure is the median of the repetitions after warm-up (range in parentheses); each implementation in its own child process per repetition, interleaved.",
    "Latency is measured from each event's intended send time (open loop), so generator lag from a busy machine counts;",
    "the `gen lag p95` column shows how late the generator itself sent.",
    "",
    "![latency percentiles](latency.svg)",
    ""
  ]
  for (const s of secs) lines.push(`## ${s.title}`, "", mdTable(s.header, s.rows), "")
  if (report.notes.length > 0) lines.push("## Notes", "", ...report.notes.map((n) => `- ${n}`), "")
  return lines.join("\n")
}

/** Writes the report into `dir` (results/ for a complete run, results/dev/ for `--quick` or `--only`). */
export const write = (report: Report, dir: string = resultsDir): Array<string> => {
  mkdirSync(dir, { recursive: true })
  const secs = sections(report.results, report.targets)
  const files = {
    "latest.json": `${JSON.stringify({ meta: report.meta, results: report.results, targets: report.targets, notes: report.notes }, null, 2)}\n`,
    "latest.md": markdown(report, secs),
    "latency.svg": latencySvg(
      report.results,
      `eventfabric bench (${report.meta.profile}): latency percentiles per implementation`
    )
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(dir + name, text)
  return Object.keys(files).map((n) => dir + n)
}
