/**
 * Run profiles: `standard` (`pnpm bench`, CI: <= 5 minutes on 2 cores),
 * `quick` (`--quick`, development: same scenarios, fewer and shorter
 * repetitions; its figures are not for quoting) and `full` (`--full`).
 *
 * Every measurement runs in its own child process; "reps" counts child
 * processes per implementation (or variant), interleaved.
 */
import type { Mailbox } from "./impls/compat.ts"
import type { ThroughputOptions } from "./scenarios/closed.ts"

export interface LatencyOptions {
  readonly rates: ReadonlyArray<number>
  readonly durationMs: number
  readonly warmupMs: number
}

export interface Profile {
  readonly name: "standard" | "quick" | "full"
  /** Throughput and latency for the bus and every peer: child processes per implementation. */
  readonly suite: { readonly reps: number; readonly throughput: ThroughputOptions; readonly latency: LatencyOptions }
  /** Healthy subscriptions' throughput beside a stuck one (non-suspending mailbox) vs alone. */
  readonly stuck: { readonly reps: number; readonly throughput: ThroughputOptions; readonly mailbox: Mailbox }
  /** The fast subscriptions' latency with and without a slow one (non-suspending mailbox). */
  readonly isolation: {
    readonly reps: number
    readonly rate: number
    readonly durationMs: number
    readonly slowMs: number
    readonly mailbox: Mailbox
  }
  /** A slow subscriber on a suspend lane with the default mailbox strategy: the publisher follows it. */
  readonly chain: {
    readonly consumerMs: ReadonlyArray<number>
    readonly laneCapacity: number
    readonly mailboxCapacity: number
    readonly durationMs: number
    /** Rates are measured after this much time, once the buffers are full. */
    readonly windowFromMs: number
  }
  readonly capacity: {
    readonly startRate: number
    /** Growth while no rate has failed yet (bracketing). */
    readonly coarseFactor: number
    /** Growth between the last passing and the first failing coarse rate: the sweep's resolution (<= 1.25). */
    readonly factor: number
    readonly maxRate: number
    readonly durationMs: number
    readonly repsPerRate: number
  }
  readonly overload: { readonly durationMs: number; readonly reps: number }
  readonly plugins: { readonly reps: number; readonly throughput: ThroughputOptions }
  readonly memory: {
    /** Events through eventfabric. */
    readonly events: number
    /** Events through each peer. */
    readonly peerEvents: number
    readonly checkpoints: number
    readonly impls: ReadonlyArray<string>
  }
}

const dropping: Mailbox = { capacity: 1024, strategy: "dropping" }
const peers = ["eventfabric", "node:events", "eventemitter3", "emittery", "effect-pubsub", "naive-bus"]

export const standard: Profile = {
  name: "standard",
  suite: {
    reps: 5,
    throughput: { batch: 2000, warmupMs: 150, sampleMs: 60, samples: 5 },
    latency: { rates: [10_000, 50_000], durationMs: 400, warmupMs: 100 }
  },
  stuck: { reps: 3, throughput: { batch: 2000, warmupMs: 150, sampleMs: 60, samples: 5 }, mailbox: dropping },
  isolation: { reps: 3, rate: 10_000, durationMs: 400, slowMs: 5, mailbox: dropping },
  chain: { consumerMs: [1, 2], laneCapacity: 16, mailboxCapacity: 16, durationMs: 1300, windowFromMs: 300 },
  capacity: {
    startRate: 25_000,
    coarseFactor: 2,
    factor: 1.25,
    maxRate: 4_000_000,
    durationMs: 400,
    // 3, not 2: the median of two is their mean, and one stalled repetition failed a rate that passed.
    repsPerRate: 3
  },
  overload: { durationMs: 500, reps: 3 },
  plugins: { reps: 3, throughput: { batch: 500, warmupMs: 100, sampleMs: 50, samples: 5 } },
  // 1M events for the bus (its RSS target); the peers' rows are there for scale only.
  memory: { events: 1_000_000, peerEvents: 300_000, checkpoints: 6, impls: peers }
}

export const quick: Profile = {
  name: "quick",
  suite: {
    reps: 2,
    throughput: { batch: 2000, warmupMs: 80, sampleMs: 40, samples: 3 },
    latency: { rates: [10_000, 50_000], durationMs: 200, warmupMs: 50 }
  },
  stuck: { reps: 2, throughput: { batch: 2000, warmupMs: 80, sampleMs: 40, samples: 3 }, mailbox: dropping },
  isolation: { reps: 1, rate: 10_000, durationMs: 200, slowMs: 5, mailbox: dropping },
  chain: { consumerMs: [1, 2], laneCapacity: 16, mailboxCapacity: 16, durationMs: 800, windowFromMs: 200 },
  capacity: { startRate: 25_000, coarseFactor: 2, factor: 1.25, maxRate: 4_000_000, durationMs: 200, repsPerRate: 1 },
  overload: { durationMs: 300, reps: 1 },
  plugins: { reps: 1, throughput: { batch: 300, warmupMs: 50, sampleMs: 30, samples: 3 } },
  memory: { events: 200_000, peerEvents: 100_000, checkpoints: 4, impls: ["eventfabric", "node:events"] }
}

export const full: Profile = {
  name: "full",
  suite: {
    reps: 7,
    throughput: { batch: 5000, warmupMs: 400, sampleMs: 200, samples: 7 },
    latency: { rates: [10_000, 50_000, 100_000], durationMs: 2000, warmupMs: 300 }
  },
  stuck: { reps: 5, throughput: { batch: 5000, warmupMs: 400, sampleMs: 200, samples: 7 }, mailbox: dropping },
  isolation: { reps: 5, rate: 10_000, durationMs: 2000, slowMs: 5, mailbox: dropping },
  chain: { consumerMs: [1, 2, 5], laneCapacity: 16, mailboxCapacity: 16, durationMs: 3000, windowFromMs: 500 },
  capacity: {
    startRate: 25_000,
    coarseFactor: 2,
    factor: 1.1,
    maxRate: 8_000_000,
    durationMs: 1500,
    repsPerRate: 3
  },
  overload: { durationMs: 3000, reps: 5 },
  plugins: { reps: 5, throughput: { batch: 2000, warmupMs: 300, sampleMs: 150, samples: 7 } },
  memory: { events: 5_000_000, peerEvents: 5_000_000, checkpoints: 11, impls: peers }
}

/** Rotates `xs` by `k`: repetition k starts with a different implementation, so drift hits all alike. */
export const rotate = <A>(xs: ReadonlyArray<A>, k: number): Array<A> => {
  if (xs.length === 0) return []
  const s = ((k % xs.length) + xs.length) % xs.length
  return [...xs.slice(s), ...xs.slice(0, s)]
}
