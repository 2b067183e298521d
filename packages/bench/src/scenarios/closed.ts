import type { Impl, Instance, Payload, SetupOptions } from "../impls/types.ts"
import { summarize } from "../stats.ts"

/**
 * A closed-loop driver: `run(n)` publishes `n` payloads and resolves when every
 * measured subscriber has handled every one of them (the handler is
 * `counter++`). A slow or stuck subscriber (`slow`) is not waited for.
 */
export interface Closed {
  readonly instance: Instance
  readonly run: (n: number) => Promise<void>
  readonly handled: () => number
}

export type ClosedExtra = Partial<
  Pick<SetupOptions, "busOptions" | "plugins" | "pluginLayers" | "slow" | "slowMailbox">
>

const STALL_MS = 10_000

export const closed = async (impl: Impl, subscribers: number, extra?: ClosedExtra): Promise<Closed> => {
  let handled = 0
  let target = -1
  let resolve: (() => void) | undefined
  let seq = 0
  const slowIndex = extra?.slow?.index ?? -1
  const measured = subscribers - (slowIndex >= 0 && slowIndex < subscribers ? 1 : 0)
  const instance = await impl.setup({
    subscribers,
    handler: (sub) => {
      if (sub !== slowIndex && ++handled === target) resolve?.()
    },
    ...extra
  })
  return {
    instance,
    handled: () => handled,
    run: (n) => {
      // Fresh payloads each op (distinct seq): a dedup plugin must not see repeats.
      const batch: Array<Payload> = new Array(n)
      for (let i = 0; i < n; i++) batch[i] = { seq: seq++, t: 0, lane: 1 }
      // A run that stops progressing fails instead of hanging the bench.
      const done = new Promise<void>((r, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${impl.name}: ${n} events not handled in ${STALL_MS} ms`)),
          STALL_MS
        )
        resolve = () => {
          clearTimeout(timer)
          r()
        }
      })
      target = handled + n * measured
      instance.send(batch)
      return handled >= target ? Promise.resolve() : done
    }
  }
}

export interface ThroughputOptions {
  /** Events per closed-loop op. */
  readonly batch: number
  readonly warmupMs: number
  readonly sampleMs: number
  readonly samples: number
}

export interface Rate {
  /** Events per wall-clock second: the figure. */
  readonly eventsPerSec: number
  /**
   * Events per second of this process's CPU time (all its threads): what the
   * work costs, much less disturbed by other processes taking the cores (it
   * stayed within 4% between runs at load 9-16 on 2 cores while the wall
   * figure moved 51%). On a nearly idle machine V8's GC helper threads use
   * the free core, so it can read below the wall figure and vary more.
   */
  readonly eventsPerCpuSec: number
}

/**
 * Throughput through `c`: warm up, then `samples` timed samples of whole ops;
 * the median sample of each measure (a GC pause or a neighbour's burst lands
 * in one sample, not in the figure).
 */
export const throughput = async (c: Closed, o: ThroughputOptions): Promise<Rate> => {
  const runFor = async (ms: number): Promise<number> => {
    const end = performance.now() + ms
    let n = 0
    do {
      await c.run(o.batch)
      n += o.batch
    } while (performance.now() < end)
    return n
  }
  await runFor(o.warmupMs)
  globalThis.gc?.()
  const wall: Array<number> = []
  const cpu: Array<number> = []
  for (let i = 0; i < o.samples; i++) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    const n = await runFor(o.sampleMs)
    const used = process.cpuUsage(c0)
    wall.push((n * 1000) / (performance.now() - t0))
    cpu.push((n * 1e6) / Math.max(1, used.user + used.system))
  }
  return { eventsPerSec: summarize(wall).median, eventsPerCpuSec: summarize(cpu).median }
}

/** A fresh instance of `impl`, its throughput, closed again. */
export const throughputOf = async (
  impl: Impl,
  subscribers: number,
  o: ThroughputOptions,
  extra?: ClosedExtra
): Promise<Rate> => {
  const c = await closed(impl, subscribers, extra)
  try {
    return await throughput(c, o)
  } finally {
    await c.instance.close()
  }
}
