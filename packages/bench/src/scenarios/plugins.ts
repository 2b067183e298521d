/**
 * Plugin overhead: throughput with 5 subscriptions for the bare bus, each
 * registered plugin alone, then the full stack, interleaved.
 */
import type { Profile } from "../config.ts"
import { eventfabric } from "../impls/eventfabric.ts"
import { type Loaded, registry } from "../plugins.ts"
import type { Progress } from "../progress.ts"
import type { Row } from "../result.ts"
import { aggregate } from "./aggregate.ts"
import { closed } from "./closed.ts"
import { measure, type Variant } from "./throughput.ts"

const withTimeout = <A>(p: Promise<A>, ms: number, what: string): Promise<A> =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no completion in ${ms} ms`)), ms).unref()
    )
  ])

/** Undefined when 200 events reach 5 subscribers through these plugins; else why not. */
const smoke = async (xs: ReadonlyArray<Loaded>): Promise<string | undefined> => {
  try {
    const c = await withTimeout(closed(eventfabric, 5, extra(xs)), 2000, "setup")
    try {
      await withTimeout(c.run(200), 2000, "smoke run")
    } finally {
      await withTimeout(c.instance.close(), 2000, "close").catch(() => undefined)
    }
    return undefined
  } catch (e) {
    return String((e as Error)?.message ?? e)
      .split("\n")[0]!
      .slice(0, 160)
  }
}

/** Loads and smoke-tests each plugin: 200 events must reach 5 subscribers. */
export const load = async (): Promise<{
  ok: Array<{ name: string } & Loaded>
  skipped: Array<{ name: string; reason: string }>
}> => {
  const ok: Array<{ name: string } & Loaded> = []
  const skipped: Array<{ name: string; reason: string }> = []
  for (const entry of registry) {
    try {
      const loaded = await entry.load()
      const error = await smoke([loaded])
      if (error !== undefined) throw new Error(error)
      ok.push({ name: entry.name, ...loaded })
    } catch (e) {
      skipped.push({
        name: entry.name,
        reason: String((e as Error)?.message ?? e)
          .split("\n")[0]!
          .slice(0, 160)
      })
    }
  }
  return { ok, skipped }
}

const extra = (xs: ReadonlyArray<Loaded>) => ({
  plugins: xs.map((x) => x.plugin),
  pluginLayers: xs.flatMap((x) => (x.layer ? [x.layer] : []))
})

export const steps = (p: Profile) => 1 + (registry.length + 2) * p.reps

export const run = async (p: Profile, progress: Progress): Promise<{ rows: Array<Row>; notes: Array<string> }> => {
  progress.step("plugins: loading the registry")
  const { ok, skipped } = await load()
  const variants: Array<Variant> = [{ label: "bare", impl: eventfabric, subscribers: 5 }]
  for (const loaded of ok)
    variants.push({ label: loaded.name, impl: eventfabric, subscribers: 5, extra: extra([loaded]) })
  const stack = ok.filter((x) => x.name !== "noop")
  const stackError = stack.length > 1 ? await smoke(stack) : "fewer than two plugins"
  if (stackError === undefined) {
    variants.push({
      label: "full stack",
      impl: eventfabric,
      subscribers: 5,
      extra: extra(stack)
    })
  }
  const measured = await measure(variants, { reps: p.reps, ...p.plugins }, progress, "plugins")
  const bare = aggregate(
    measured.get("bare")!.map((eventsPerSec) => ({ eventsPerSec })),
    ["eventsPerSec"]
  )
  const rows: Array<Row> = variants.map((v) => {
    const a = aggregate(
      measured.get(v.label)!.map((eventsPerSec) => ({ eventsPerSec })),
      ["eventsPerSec"]
    )
    const eps = a.eventsPerSec!
    return {
      scenario: "plugins",
      impl: "eventfabric",
      plugin: v.label,
      plugins: v.label === "full stack" ? stack.map((x) => x.name) : v.label === "bare" ? [] : [v.label],
      subscribers: 5,
      ...a,
      relativeToBare: eps / bare.eventsPerSec!,
      addedNsPerEvent: 1e9 / eps - 1e9 / bare.eventsPerSec!
    }
  })
  for (const s of skipped) rows.push({ scenario: "plugins", impl: "eventfabric", plugin: s.name, skipped: s.reason })
  if (stackError !== undefined) {
    rows.push({ scenario: "plugins", impl: "eventfabric", plugin: "full stack", skipped: stackError })
  }
  const notes = skipped.map((s) => `plugin ${s.name} skipped: ${s.reason}`)
  if (stackError !== undefined)
    notes.push(`full plugin stack (${stack.map((x) => x.name).join(", ")}) skipped: ${stackError}`)
  return { rows, notes }
}
