/**
 * Small statistics helpers: percentiles over plain arrays (exact, nearest-rank),
 * summaries of repetitions (median, min, max), and an HDR histogram wrapper
 * that records nanoseconds and reports microseconds.
 */
import * as hdr from "hdr-histogram-js"

/** Nearest-rank percentile of `values` (not necessarily sorted); NaN when empty. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return percentileSorted(sorted, p)
}

export const percentileSorted = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  if (p <= 0) return sorted[0]!
  if (p >= 100) return sorted[sorted.length - 1]!
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.max(0, rank - 1)]!
}

export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
}

/** Median with min and max of repeated measurements (median of an even count: mean of the middle two). */
export const summarize = (values: ReadonlyArray<number>): Summary => {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (xs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 }
  const mid = xs.length >> 1
  const median = xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2
  return { median, min: xs[0]!, max: xs[xs.length - 1]!, n: xs.length }
}

/** `a / b`, or NaN when it means nothing. */
export const ratio = (a: number, b: number): number =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN

/** A latency histogram: record in nanoseconds, read in microseconds. */
export class Latency {
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false
  })

  /** Records a latency given in milliseconds (performance.now deltas). */
  recordMs(ms: number): void {
    const ns = Math.round(ms * 1e6)
    this.h.recordValue(Math.max(1, Math.min(ns, 120_000_000_000)))
  }

  get count(): number {
    return this.h.totalCount
  }

  /** Percentile in microseconds; NaN when empty. */
  us(p: number): number {
    if (this.h.totalCount === 0) return Number.NaN
    return this.h.getValueAtPercentile(p) / 1000
  }

  get maxUs(): number {
    return this.h.totalCount === 0 ? Number.NaN : this.h.maxValue / 1000
  }

  reset(): void {
    this.h.reset()
  }

  destroy(): void {
    this.h.destroy()
  }
}
