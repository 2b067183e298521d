/**
 * The paced open-loop generator. Each turn of the event loop (setImmediate) it
 * sends every event whose intended time has come, stamped with that intended
 * time; handlers measure from it. The schedule never waits for the
 * implementation: a stall shows as latency (and as generator lag, reported
 * apart), not as fewer events sent.
 */
import type { Impl, Instance, LaneIndex, Payload, SetupOptions } from "./impls/types.ts"
import * as Schedule from "./schedule.ts"
import { Latency, percentile } from "./stats.ts"

export interface OpenLoopOptions {
  readonly rate: number
  readonly durationMs: number
  /** Events sent during the first `warmupMs` are not measured. */
  readonly warmupMs: number
  readonly subscribers: number
  /** Lane of event `seq`; default all NORMAL. */
  readonly lane?: ((seq: number) => LaneIndex) | undefined
  readonly slow?: SetupOptions["slow"]
  readonly slowMailbox?: SetupOptions["slowMailbox"]
  /** Called with the instance once it is set up (to read what it applied). */
  readonly onInstance?: ((instance: Instance) => void) | undefined
  readonly busOptions?: unknown
  readonly plugins?: ReadonlyArray<unknown> | undefined
  /** How long to wait for deliveries after the last send when they stop progressing (ms). */
  readonly settleMs?: number | undefined
  /** Longest wait for deliveries after the last send (ms), default 1000. */
  readonly maxSettleMs?: number | undefined
}

export interface OpenLoopResult {
  readonly start: Latency
  readonly done: Latency
  readonly sendLag: Latency
  readonly sent: number
  readonly sentByLane: readonly [number, number, number]
  /** Deliveries handled by the measured (non-slow) subscribers, all events, by lane. */
  readonly handledByLane: readonly [number, number, number]
  readonly measuredSubscribers: number
  /** Share of expected deliveries to the measured subscribers that never happened. */
  readonly dropRate: number
  readonly depthP95: number | undefined
  readonly depthMax: number | undefined
  /** Events per second actually sent (the schedule's rate unless the generator fell behind). */
  readonly achievedRate: number
  readonly counters: ReturnType<NonNullable<Instance["counters"]>> | undefined
}

/** The standard lane mix of the capacity and overload scenarios: 10% critical, 60% normal, 30% low. */
export const mixedLanes = (seq: number): LaneIndex => {
  const k = seq % 10
  return k === 0 ? 0 : k <= 6 ? 1 : 2
}

const MAX_BATCH = 4096
const nextTurn = () => new Promise<void>((r) => setImmediate(r))
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export const openLoop = async (impl: Impl, o: OpenLoopOptions): Promise<OpenLoopResult> => {
  const start = new Latency()
  const done = new Latency()
  const sendLag = new Latency()
  const lane = o.lane ?? (() => 1 as const)
  const warmEvents = Math.floor((o.rate * o.warmupMs) / 1000)
  const slowIndex = o.slow?.index ?? -1
  const handledByLane: [number, number, number] = [0, 0, 0]
  let handled = 0
  const instance = await impl.setup({
    subscribers: o.subscribers,
    slow: o.slow,
    slowMailbox: o.slowMailbox,
    busOptions: o.busOptions,
    plugins: o.plugins,
    handler: (sub, p) => {
      if (sub === slowIndex) return
      const t0 = performance.now()
      handled++
      handledByLane[p.lane]++
      if (p.seq >= warmEvents) {
        start.recordMs(t0 - p.t)
        done.recordMs(performance.now() - p.t)
      }
    }
  })
  o.onInstance?.(instance)
  const measuredSubscribers = o.subscribers - (slowIndex >= 0 && slowIndex < o.subscribers ? 1 : 0)
  const depths: Array<number> = []
  const sentByLane: [number, number, number] = [0, 0, 0]
  await nextTurn()
  const schedule = Schedule.make(performance.now(), o.rate, o.durationMs)
  let next = 0
  let lastDepth = -Infinity
  const warmEnd = schedule.start + o.warmupMs
  while (next < schedule.total) {
    const now = performance.now()
    const due = Math.min(Schedule.dueCount(schedule, now), next + MAX_BATCH)
    if (due > next) {
      const batch: Array<Payload> = new Array(due - next)
      for (let i = next; i < due; i++) {
        const t = Schedule.intended(schedule, i)
        const l = lane(i)
        sentByLane[l]++
        batch[i - next] = { seq: i, t, lane: l }
        if (i >= warmEvents) sendLag.recordMs(now - t)
      }
      next = due
      instance.send(batch)
    }
    if (now - lastDepth >= 1 && now >= warmEnd) {
      lastDepth = now
      const d = instance.depth()
      if (d !== undefined) depths.push(d)
    }
    await nextTurn()
  }
  const sentEnd = performance.now()
  // Let deliveries finish: until all arrived, or nothing moved for settleMs.
  const expected = schedule.total * measuredSubscribers
  const settleMs = o.settleMs ?? 100
  let last = handled
  let still = performance.now()
  const deadline = still + (o.maxSettleMs ?? 1000)
  while (handled < expected && performance.now() < deadline) {
    await sleep(1)
    if (handled !== last) {
      last = handled
      still = performance.now()
    } else if (performance.now() - still > settleMs) break
  }
  const counters = instance.counters?.()
  await instance.close()
  return {
    start,
    done,
    sendLag,
    sent: schedule.total,
    sentByLane,
    handledByLane,
    measuredSubscribers,
    dropRate: expected === 0 ? 0 : Math.max(0, 1 - handled / expected),
    depthP95: depths.length ? percentile(depths, 95) : undefined,
    depthMax: depths.length ? Math.max(...depths) : undefined,
    achievedRate: (schedule.total * 1000) / Math.max(1, sentEnd - schedule.start),
    counters
  }
}
