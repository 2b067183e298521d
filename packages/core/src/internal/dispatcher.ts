/**
 * The dispatcher: one fiber taking jobs from the lanes (CRITICAL strictly
 * first; NORMAL and LOW by weight) and routing each to its subscriptions'
 * mailboxes.
 *
 * Backpressure: when a subscription's ring for a job's lane is full and its
 * strategy is `suspend`, the job goes to the others and is held for that
 * subscription, and the dispatcher stops taking from that lane — only that
 * lane — until the subscription frees room (`roomFreed`). The lane then fills
 * and its `suspend` publishers wait: backpressure from handler to publisher,
 * nothing lost, lane order kept. The other lanes keep flowing.
 */
import { Effect } from "effect"
import type { Envelope } from "../Envelope.ts"
import type { Job, LaneIndex } from "./job.ts"
import type { Report, Reports } from "./reports.ts"
import type { BusState, Route } from "./state.ts"
import type { SubscriptionRuntime } from "./subscription.ts"

interface Held {
  readonly job: Job
  waiting: Array<SubscriptionRuntime>
}

const BATCH = 512

export class Dispatcher {
  private readonly state: BusState
  private readonly reports: Reports
  private readonly emit: (report: Report, envelope: Envelope) => void
  private readonly held: [Held | undefined, Held | undefined, Held | undefined] = [undefined, undefined, undefined]
  private holding = 0
  private room = false
  private turn = 0
  private readonly cycle: number

  constructor(state: BusState, reports: Reports, emit: (report: Report, envelope: Envelope) => void) {
    this.state = state
    this.reports = reports
    this.emit = emit
    this.cycle = state.options.weights.normal + state.options.weights.low
  }

  private readonly kicks: Array<SubscriptionRuntime> = []

  readonly kick = (sub: SubscriptionRuntime): void => {
    if (sub.kickPending) return
    sub.kickPending = true
    this.kicks.push(sub)
    // Outside a dispatch (a redelivery, a retried hold): run it now.
    if (!this.state.dispatching) this.flushKicks()
  }

  private flushKicks(): void {
    const kicks = this.kicks
    for (let i = 0; i < kicks.length; i++) {
      const sub = kicks[i]!
      sub.kickPending = false
      sub.pump()
    }
    kicks.length = 0
  }

  /** A subscription that holds a lane has room: retry on the next cycle. */
  readonly roomFreed = (): void => {
    this.room = true
    if (!this.state.wake.isOpen()) this.state.wake.openUnsafe()
  }

  private route(type: string): Route {
    const routes = this.state.routes
    let r = routes.get(type)
    if (r === undefined) {
      const targets = Array.from(this.state.subscriptions.values()).filter((s) => s.matches(type))
      r = { targets, filtered: targets.some((s) => s.filter !== undefined) }
      routes.set(type, r)
    }
    return r
  }

  private dispatch(job: Job): void {
    const state = this.state
    const envelope = job.envelope
    state.lanes[job.lane].dispatched++
    const r = this.route(envelope.type)
    let targets = r.targets
    let failedFilters: Array<[SubscriptionRuntime, unknown]> | undefined
    if (r.filtered) {
      targets = targets.filter((s) => {
        try {
          return s.filter === undefined || s.filter(envelope)
        } catch (defect) {
          ;(failedFilters ??= []).push([s, defect])
          return false
        }
      })
    }
    const count = targets.length + (failedFilters?.length ?? 0)
    if (count === 0) {
      state.unrouted++
      job.tracker?.expect(0)
      return
    }
    state.offered += count
    job.tracker?.expect(count)
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!
      if (!target.offer(job)) this.hold(job, target)
    }
    if (failedFilters) for (const [s, defect] of failedFilters) s.failFilter(job, defect)
  }

  private hold(job: Job, target: SubscriptionRuntime): void {
    const held = this.held[job.lane]
    if (held !== undefined) {
      held.waiting.push(target)
      return
    }
    this.held[job.lane] = { job, waiting: [target] }
    this.holding++
  }

  private retryHeld(): void {
    this.room = false
    if (this.holding === 0) return
    this.retryHolds()
    this.flushKicks()
  }

  private retryHolds(): void {
    for (let lane = 0 as LaneIndex; lane < 3; lane++) {
      const held = this.held[lane]
      if (held === undefined) continue
      held.waiting = held.waiting.filter((sub) => !sub.place(held.job))
      if (held.waiting.length === 0) {
        this.held[lane] = undefined
        this.holding--
      }
    }
  }

  // CRITICAL strictly first; then NORMAL and LOW alternate by weight, the
  // turn advancing only when the preferred lane had an event. A held lane is
  // skipped.
  private next(): Job | undefined {
    const [critical, normal, low] = this.state.lanes
    const held = this.held
    if (held[0] === undefined) {
      const job = critical.take()
      if (job !== undefined) return job
    }
    const preferNormal = this.turn < this.state.options.weights.normal
    const first = preferNormal ? (held[1] === undefined ? normal : undefined) : held[2] === undefined ? low : undefined
    const job = first?.take()
    if (job !== undefined) {
      this.turn = (this.turn + 1) % this.cycle
      return job
    }
    const second = preferNormal ? (held[2] === undefined ? low : undefined) : held[1] === undefined ? normal : undefined
    return second?.take()
  }

  private ready(): boolean {
    if (this.room || this.reports.owed) return true
    const [critical, normal, low] = this.state.lanes
    return (
      (this.held[0] === undefined && critical.size > 0) ||
      (this.held[1] === undefined && normal.size > 0) ||
      (this.held[2] === undefined && low.size > 0)
    )
  }

  readonly run: Effect.Effect<never> = Effect.suspend(() => {
    const state = this.state
    const loop: Effect.Effect<never> = Effect.suspend(() => {
      state.dispatching = true
      this.retryHeld()
      let n = 0
      for (let job = this.next(); job !== undefined; job = n < BATCH ? this.next() : undefined) {
        this.dispatch(job)
        // Workers start every few events: often enough for latency, rarely
        // enough that one batch fiber runs several deliveries.
        if ((++n & 31) === 0) this.flushKicks()
      }
      this.flushKicks()
      if (n === BATCH) {
        this.reports.flushDue(this.emit)
        state.dispatching = false
        return Effect.andThen(Effect.yieldNow, loop)
      }
      // Out of work: the storm, if any, is over; report it.
      this.reports.flush(this.emit)
      state.dispatching = false
      // Close, then look again: work arriving between the last take and the
      // close would otherwise wait for the next wake.
      state.wake.closeUnsafe()
      if (this.ready()) {
        state.wake.openUnsafe()
        return loop
      }
      state.idle.check()
      return Effect.andThen(state.wake.await, loop)
    })
    return loop
  })

  /** At shutdown, after the subscriptions stopped: held deliveries end `interrupted`. */
  stop(): void {
    this.retryHeld()
  }
}
