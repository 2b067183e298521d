/** Run profiles: `standard` (CI, <= 3 minutes on 2 cores) and `full` (`pnpm bench --full`). */
export interface Profile {
  readonly name: "standard" | "full"
  readonly reps: number
  readonly throughput: { readonly batch: number; readonly timeMs: number }
  readonly latency: { readonly rates: ReadonlyArray<number>; readonly durationMs: number; readonly warmupMs: number }
  readonly isolation: { readonly rate: number; readonly durationMs: number; readonly slowMs: number }
  readonly capacity: {
    readonly startRate: number
    readonly factor: number
    readonly maxRate: number
    readonly durationMs: number
    readonly repsPerRate: number
    /** After the first failing rate, bisect this many times between the last pass and it. */
    readonly refine: number
  }
  readonly overload: { readonly durationMs: number; readonly reps: number }
  readonly plugins: { readonly batch: number; readonly timeMs: number }
  readonly memory: { readonly events: number; readonly checkpoints: number; readonly impls: ReadonlyArray<string> }
}

export const standard: Profile = {
  name: "standard",
  reps: 5,
  throughput: { batch: 2000, timeMs: 120 },
  latency: { rates: [10_000, 50_000], durationMs: 500, warmupMs: 100 },
  isolation: { rate: 10_000, durationMs: 300, slowMs: 5 },
  capacity: { startRate: 25_000, factor: 2, maxRate: 2_000_000, durationMs: 600, repsPerRate: 3, refine: 0 },
  overload: { durationMs: 600, reps: 5 },
  plugins: { batch: 300, timeMs: 100 },
  memory: {
    events: 300_000,
    checkpoints: 6,
    impls: ["eventfabric", "node:events", "eventemitter3", "emittery", "effect-pubsub", "naive-bus"]
  }
}

export const full: Profile = {
  name: "full",
  reps: 7,
  throughput: { batch: 5000, timeMs: 400 },
  latency: { rates: [10_000, 50_000, 100_000], durationMs: 2000, warmupMs: 300 },
  isolation: { rate: 10_000, durationMs: 2000, slowMs: 5 },
  capacity: { startRate: 25_000, factor: 1.25, maxRate: 4_000_000, durationMs: 2000, repsPerRate: 3, refine: 3 },
  overload: { durationMs: 3000, reps: 5 },
  plugins: { batch: 5000, timeMs: 400 },
  memory: {
    events: 5_000_000,
    checkpoints: 11,
    impls: ["eventfabric", "node:events", "eventemitter3", "emittery", "effect-pubsub", "naive-bus"]
  }
}

/** Rotates `xs` by `k`: repetition k starts with a different implementation, so drift hits all alike. */
export const rotate = <A>(xs: ReadonlyArray<A>, k: number): Array<A> => {
  if (xs.length === 0) return []
  const s = ((k % xs.length) + xs.length) % xs.length
  return [...xs.slice(s), ...xs.slice(0, s)]
}
