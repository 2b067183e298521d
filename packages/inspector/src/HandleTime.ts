/**
 * Handle time per subscription, measured by a delivery middleware, for the
 * inspector's p50 / p95 columns. `bus.stats` counts outcomes but does not time
 * them, so the inspector brings its own plugin.
 *
 * Times go into log-scale buckets (4 per doubling, from 1 µs): recording is two
 * clock reads and an array increment, and a percentile is reported as its
 * bucket's upper bound (at most 19% high). Buckets are kept per window
 * (`snapshot` closes one) and percentiles cover the last `windows` of them.
 *
 * @since 0.1.0
 */

import type { Middleware } from "@eventfabric/core"
import { Plugin } from "@eventfabric/core"
import { Context, Effect, Layer } from "effect"

const PER_OCTAVE = 4
const BUCKETS = 128
const FLOOR_NANOS = 1_000

/** The bucket of a duration: 0 holds everything up to 1 µs. */
const bucketOf = (nanos: number): number =>
  nanos <= FLOOR_NANOS ? 0 : Math.min(BUCKETS - 1, Math.ceil(PER_OCTAVE * Math.log2(nanos / FLOOR_NANOS)))

/** A bucket's upper bound in milliseconds. */
const upperMillis = (bucket: number): number => (FLOOR_NANOS * 2 ** (bucket / PER_OCTAVE)) / 1e6

/**
 * One subscription's handle times over the last windows.
 *
 * @since 0.1.0
 */
export interface Percentiles {
  /** Deliveries timed. */
  readonly count: number
  readonly p50Ms: number
  readonly p95Ms: number
  readonly maxMs: number
}

interface Series {
  /** One bucket array per window, the current one at `current`. */
  readonly windows: Array<Uint32Array>
  readonly counts: Array<number>
  readonly maxes: Array<number>
}

/**
 * Where the plugin records and the inspector reads.
 *
 * @since 0.1.0
 */
export interface Recorder {
  /** Records one delivery of `subscription` that took `nanos`. Synchronous: it is on the delivery path. */
  readonly record: (subscription: string, nanos: number) => void
  /** Percentiles over the last windows, then opens a new window. */
  readonly snapshot: () => ReadonlyMap<string, Percentiles>
}

/**
 * A recorder keeping `windows` windows per subscription (default 10: with one
 * snapshot a second, percentiles of the last 10 seconds).
 *
 * @example
 * ```ts
 * import { HandleTime } from "@eventfabric/inspector"
 * const recorder = HandleTime.makeRecorder()
 * recorder.record("mailer", 2_000_000)
 * recorder.snapshot().get("mailer") // { count: 1, p50Ms: ~2, p95Ms: ~2, maxMs: 2 }
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeRecorder = (windows = 10): Recorder => {
  const series = new Map<string, Series>()
  let current = 0
  const make = (): Series => ({
    windows: Array.from({ length: windows }, () => new Uint32Array(BUCKETS)),
    counts: new Array<number>(windows).fill(0),
    maxes: new Array<number>(windows).fill(0)
  })
  const record = (subscription: string, nanos: number): void => {
    let s = series.get(subscription)
    if (s === undefined) series.set(subscription, (s = make()))
    s.windows[current]![bucketOf(nanos)]!++
    s.counts[current]!++
    if (nanos > s.maxes[current]!) s.maxes[current] = nanos
  }
  const percentile = (merged: Uint32Array, count: number, q: number): number => {
    const rank = Math.max(1, Math.ceil(q * count))
    let seen = 0
    for (let b = 0; b < BUCKETS; b++) {
      seen += merged[b]!
      if (seen >= rank) return upperMillis(b)
    }
    return upperMillis(BUCKETS - 1)
  }
  const snapshot = (): ReadonlyMap<string, Percentiles> => {
    const out = new Map<string, Percentiles>()
    for (const [name, s] of series) {
      const merged = new Uint32Array(BUCKETS)
      let count = 0
      let max = 0
      for (let w = 0; w < windows; w++) {
        const buckets = s.windows[w]!
        for (let b = 0; b < BUCKETS; b++) merged[b]! += buckets[b]!
        count += s.counts[w]!
        max = Math.max(max, s.maxes[w]!)
      }
      if (count > 0) {
        // The max is exact; a bucket bound above it would overstate.
        const maxMs = max / 1e6
        out.set(name, {
          count,
          p50Ms: Math.min(maxMs, percentile(merged, count, 0.5)),
          p95Ms: Math.min(maxMs, percentile(merged, count, 0.95)),
          maxMs
        })
      }
    }
    current = (current + 1) % windows
    for (const [name, s] of series) {
      s.windows[current]!.fill(0)
      s.counts[current] = 0
      s.maxes[current] = 0
      if (s.counts.every((c) => c === 0)) series.delete(name)
    }
    return out
  }
  return { record, snapshot }
}

/**
 * The recorder shared by the plugin (which writes) and the inspector (which
 * reads). Provide one layer to both.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { HandleTime } from "@eventfabric/inspector"
 *
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(HandleTime.plugin())),
 *   Layer.provideMerge(HandleTime.HandleTimes.layer)
 * )
 * ```
 * @since 0.1.0
 * @category services
 */
export class HandleTimes extends Context.Service<HandleTimes, Recorder>()("@eventfabric/inspector/HandleTimes") {
  static readonly layer: Layer.Layer<HandleTimes> = Layer.sync(HandleTimes, () => makeRecorder())
}

/**
 * The delivery middleware: times what it wraps, whatever the outcome, on the
 * monotonic clock.
 *
 * @example
 * ```ts
 * import { HandleTime } from "@eventfabric/inspector"
 * const middleware = HandleTime.middleware(HandleTime.makeRecorder())
 * ```
 * @since 0.1.0
 * @category middleware
 */
export const middleware =
  (recorder: Recorder): Middleware.DeliveryMiddleware =>
  (next) =>
  (delivery) =>
    Effect.clockWith((clock) => {
      const start = clock.monotonicTimeNanosUnsafe()
      // `exit` + `flatMap` rather than `onExit`: no finalizer to install per
      // delivery. An interrupted delivery is not timed (the bus counts it).
      return Effect.flatMap(Effect.exit(next(delivery)), (exit) => {
        recorder.record(delivery.subscription.name, Number(clock.monotonicTimeNanosUnsafe() - start))
        return exit
      })
    })

/**
 * The plugin. Place it last in `Plugin.layer(...)` to time each try of the
 * handler; earlier, it times what the plugins inside it do too (retries and
 * their backoff).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Retry } from "@eventfabric/plugins"
 * import { HandleTime } from "@eventfabric/inspector"
 *
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(Retry.plugin({ times: 3 }), HandleTime.plugin())),
 *   Layer.provideMerge(HandleTime.HandleTimes.layer)
 * )
 * ```
 * @since 0.1.0
 * @category plugins
 */
export const plugin = (): Plugin.Plugin<never, HandleTimes> =>
  Plugin.make(
    "inspector-handle-time",
    Effect.gen(function* () {
      const hooks: Plugin.Hooks = { delivery: middleware(yield* HandleTimes) }
      return () => Effect.succeed(hooks)
    })
  )
