/**
 * Plugin overhead: throughput with 5 subscriptions for the bare bus, each
 * registered plugin alone (and the no-op middlewares), then the full stack.
 * Each variant runs in its own child process (a plugin's middleware must not
 * leave the core's call sites polymorphic for the next variant), variants
 * rotated each repetition; ratios are to bare in the same run.
 */
import { type Profile, rotate } from "../config.ts"
import { eventfabric } from "../impls/eventfabric.ts"
import type { Row } from "../result.ts"
import type { Ctx } from "../runner.ts"
import { aggregate } from "./aggregate.ts"
import { closed, type Rate, type ThroughputOptions, throughput } from "./closed.ts"

/** Names of the registry (plugins.ts), kept here so the parent does not load every plugin. */
export const PLUGINS = [
  "noop",
  "noop delivery",
  "Validation",
  "Redaction",
  "Dedup",
  "Metrics",
  "Tracing",
  "CircuitBreaker",
  "Retry",
  "DeadLetter",
  "Audit"
] as const

const NOT_IN_STACK = new Set(["noop", "noop delivery"])
export const variants = ["bare", ...PLUGINS, "full stack"]

interface PluginJob {
  readonly scenario: "plugins"
  readonly variant: string
  readonly throughput: ThroughputOptions
}

type PluginResult = Rate | { readonly skipped: string }

const withTimeout = <A>(p: Promise<A>, ms: number, what: string): Promise<A> =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no completion in ${ms} ms`)), ms).unref()
    )
  ])

const reason = (e: unknown) =>
  String((e as Error)?.message ?? e)
    .split("\n")[0]!
    .slice(0, 160)

export const measure = async (job: PluginJob): Promise<PluginResult> => {
  const { registry } = await import("../plugins.ts")
  const names =
    job.variant === "bare"
      ? []
      : job.variant === "full stack"
        ? registry.map((e) => e.name).filter((n) => !NOT_IN_STACK.has(n))
        : [job.variant]
  const loaded = []
  for (const name of names) {
    const entry = registry.find((e) => e.name === name)
    if (entry === undefined) return { skipped: `not in the registry: ${name}` }
    try {
      loaded.push(await entry.load())
    } catch (e) {
      return { skipped: `${name}: ${reason(e)}` }
    }
  }
  const extra = {
    plugins: loaded.map((x) => x.plugin),
    pluginLayers: loaded.flatMap((x) => (x.layer ? [x.layer] : []))
  }
  let c: Awaited<ReturnType<typeof closed>>
  try {
    c = await withTimeout(closed(eventfabric, 5, extra), 5000, "setup")
    // Smoke run: 200 events must reach 5 subscribers through these plugins.
    await withTimeout(c.run(200), 5000, "smoke run")
  } catch (e) {
    return { skipped: reason(e) }
  }
  try {
    return await throughput(c, job.throughput)
  } finally {
    await withTimeout(c.instance.close(), 5000, "close").catch(() => undefined)
  }
}

export const steps = (p: Profile) => variants.length * p.plugins.reps

export const run = async (ctx: Ctx): Promise<Array<Row>> => {
  const p = ctx.profile.plugins
  const results = new Map<string, Array<PluginResult>>(variants.map((v) => [v, []]))
  for (let rep = 0; rep < p.reps; rep++) {
    for (const variant of rotate(variants, rep)) {
      const r = await ctx.run<PluginResult>(`plugins ${variant} rep ${rep + 1}/${p.reps}`, {
        scenario: "plugins",
        variant,
        throughput: p.throughput
      } satisfies PluginJob)
      if (r !== undefined) results.get(variant)!.push(r)
    }
  }
  const eps = (v: string) => results.get(v)!.flatMap((r) => ("eventsPerSec" in r ? [{ ...r }] : []))
  const bareAgg = aggregate(eps("bare"), ["eventsPerSec", "eventsPerCpuSec"])
  const bare = bareAgg.eventsPerSec ?? Number.NaN
  const stack = PLUGINS.filter((n) => !NOT_IN_STACK.has(n))
  const rows: Array<Row> = []
  for (const v of variants) {
    const ok = eps(v)
    if (ok.length === 0) {
      const skipped = results.get(v)!.find((r): r is { skipped: string } => "skipped" in r)?.skipped ?? "no result"
      rows.push({ scenario: "plugins", impl: "eventfabric", plugin: v, skipped })
      ctx.notes.push(`plugin ${v} skipped: ${skipped}`)
      continue
    }
    const a = aggregate(ok, ["eventsPerSec", "eventsPerCpuSec"])
    rows.push({
      scenario: "plugins",
      impl: "eventfabric",
      plugin: v,
      plugins: v === "full stack" ? stack : v === "bare" ? [] : [v],
      subscribers: 5,
      ...a,
      relativeToBare: a.eventsPerSec! / bare,
      // The same ratio in CPU time: less sensitive to a loaded machine.
      relativeToBareCpu: a.eventsPerCpuSec! / (bareAgg.eventsPerCpuSec ?? Number.NaN),
      addedNsPerEvent: 1e9 / a.eventsPerSec! - 1e9 / bare
    })
  }
  return rows
}
