/**
 * The in-process circuit of one subscription: a synchronous state machine,
 * no Effect, no allocation per call. It replaces `effect/persistence`'s
 * `CircuitBreaker.execute` on the in-process path, which cost ~5.5 µs, a
 * Scope and three Exits per delivery (the plugin measured 0.03x of the bare
 * bus with it).
 *
 * Semantics follow the persistence breaker's: a consecutive-failures policy,
 * a failure-rate policy over the last `size` recorded outcomes (counted once
 * `minimumCalls` are recorded), an open time that is fixed or doubles per
 * consecutive opening up to a cap, and one probe at a time once it has
 * passed. A close keeps the count of consecutive openings until one more
 * open time has passed.
 */

import { Delivery } from "@eventfabric/core"
import { Cause, Exit } from "effect"

/** What a call's outcome says about the dependency. */
export type Verdict = "success" | "failure" | "ignored"

/** What `admit` or `record` changed, for the events the plugin publishes. */
export type Transition =
  | {
      readonly to: "open"
      readonly trigger: "consecutive" | "rate"
      readonly openFor: number
      readonly openings: number
    }
  | { readonly to: "closed" }

/**
 * Classifies a delivery's exit: an inner rejection (an open circuit, a full
 * mailbox) or an interruption says nothing about the handler.
 */
export const verdictOf = (exit: Exit.Exit<void, Delivery.DeliveryError | Delivery.DeadLettered>): Verdict => {
  if (Exit.isSuccess(exit)) return "success"
  for (const reason of exit.cause.reasons) {
    if (reason._tag === "Fail") {
      // By class, never by `_tag`: a value that only looks like a bus error is a failure.
      const raw: unknown = reason.error
      const error = raw instanceof Delivery.DeadLettered ? raw.error : raw
      return error instanceof Delivery.CircuitOpen || error instanceof Delivery.Overflow ? "ignored" : "failure"
    }
    if (reason._tag === "Die") return "failure"
  }
  return Cause.hasInterruptsOnly(exit.cause) ? "ignored" : "failure"
}

export interface Policy {
  readonly failures: number | undefined
  readonly rate: { readonly threshold: number; readonly size: number; readonly minimumCalls: number } | undefined
  readonly openMillis: number
  /** When set, the open time doubles per consecutive opening, up to this. */
  readonly maxOpenMillis: number | undefined
}

const CLOSED = 0
const OPEN = 1
const HALF_OPEN = 2

export class Circuit {
  private state = CLOSED
  private streak = 0
  private readonly ring: Uint8Array | undefined
  private ringNext = 0
  private ringCount = 0
  private ringFailures = 0
  private openUntil = 0
  private probing = false
  private openings = 0
  private resetOpeningsAt = 0

  private readonly policy: Policy

  constructor(policy: Policy) {
    this.policy = policy
    this.ring = policy.rate === undefined ? undefined : new Uint8Array(policy.rate.size)
  }

  /** True while the circuit is closed: the common case needs no clock read. */
  get closed(): boolean {
    return this.state === CLOSED
  }

  /** Whether a call may run at `now`; an admitted call after the open time is the probe. */
  admit(now: number): boolean {
    if (this.state === CLOSED) return true
    if (this.state === OPEN) {
      if (now < this.openUntil) return false
      this.state = HALF_OPEN
      this.probing = false
    }
    if (this.probing) return false
    this.probing = true
    return true
  }

  /** Records the outcome of an admitted call; answers the transition it caused. */
  record(verdict: Verdict, now: number): Transition | undefined {
    if (this.state === HALF_OPEN) {
      this.probing = false
      if (verdict === "ignored") return undefined
      if (verdict === "success") return this.close(now)
      return this.open(now, this.lastTrigger)
    }
    if (this.state !== CLOSED || verdict === "ignored") return undefined
    const failed = verdict === "failure"
    this.streak = failed ? this.streak + 1 : 0
    const ring = this.ring
    const rate = this.policy.rate
    if (ring !== undefined && rate !== undefined) {
      if (this.ringCount === ring.length) this.ringFailures -= ring[this.ringNext]!
      else this.ringCount++
      ring[this.ringNext] = failed ? 1 : 0
      this.ringFailures += failed ? 1 : 0
      this.ringNext = (this.ringNext + 1) % ring.length
    }
    if (!failed) return undefined
    if (this.policy.failures !== undefined && this.streak >= this.policy.failures) return this.open(now, "consecutive")
    if (
      rate !== undefined &&
      this.ringCount >= rate.minimumCalls &&
      this.ringFailures / this.ringCount >= rate.threshold
    ) {
      return this.open(now, "rate")
    }
    return undefined
  }

  private lastTrigger: "consecutive" | "rate" = "consecutive"
  private lastOpenFor = 0

  private open(now: number, trigger: "consecutive" | "rate"): Transition | undefined {
    const fromClosed = this.state === CLOSED
    if (fromClosed && now >= this.resetOpeningsAt) this.openings = 0
    this.openings++
    const { maxOpenMillis, openMillis } = this.policy
    const openFor =
      maxOpenMillis === undefined ? openMillis : Math.min(openMillis * 2 ** (this.openings - 1), maxOpenMillis)
    this.state = OPEN
    this.openUntil = now + openFor
    this.lastTrigger = trigger
    this.lastOpenFor = openFor
    // A failed probe keeps the circuit open: no new opening to announce.
    return fromClosed ? { to: "open", trigger, openFor, openings: this.openings } : undefined
  }

  private close(now: number): Transition {
    this.state = CLOSED
    this.streak = 0
    this.ringNext = 0
    this.ringCount = 0
    this.ringFailures = 0
    this.ring?.fill(0)
    this.resetOpeningsAt = now + this.lastOpenFor
    return { to: "closed" }
  }
}
