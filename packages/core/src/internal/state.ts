/**
 * The bus's state, in one place and passed explicitly to the modules that
 * work on it (admission, dispatcher, accounting, lifecycle): lanes, routes,
 * subscriptions, counters, the installed middleware.
 */
import type { Clock, Context, Latch } from "effect"
import type { Deliver, Publish } from "../Middleware.ts"
import type * as Options from "../Options.ts"
import type { DeliveryStats } from "../Stats.ts"
import { Idle } from "./idle.ts"
import type { Lane } from "./lane.ts"
import type { Permits } from "./permits.ts"
import type { SubscriptionRuntime, Undelivered } from "./subscription.ts"

/** The subscriptions an event type routes to; cached until the set changes. */
export interface Route {
  readonly targets: ReadonlyArray<SubscriptionRuntime>
  readonly filtered: boolean
}

export type Phase = "open" | "draining" | "stopped"

export type MutableDeliveryStats = { -readonly [K in keyof DeliveryStats]: DeliveryStats[K] }

export const emptyDeliveries = (): MutableDeliveryStats => ({
  total: 0,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  rejected: 0,
  overflowed: 0,
  interrupted: 0,
  deadLettered: 0,
  abandoned: 0,
  queued: 0,
  inFlight: 0
})

export const isSystem = (type: string): boolean => type.startsWith("system.")

export class BusState {
  readonly options: Options.Resolved
  readonly clock: Clock.Clock
  readonly context: Context.Context<never>
  /** By lane index: critical, normal, low. */
  readonly lanes: readonly [Lane, Lane, Lane]
  readonly wake: Latch.Latch
  readonly permits: Permits
  readonly subscriptions = new Map<string, SubscriptionRuntime>()
  readonly routes = new Map<string, Route>()
  /** Counters of subscriptions that have ended. */
  readonly retired = emptyDeliveries()

  phase: Phase = "open"
  published = 0
  systemPublished = 0
  rejected = 0
  deduplicated = 0
  refused = 0
  /** Publishers interrupted while they waited for room (un-counted from `published`). */
  cancelled = 0
  /** `publishAndWait` calls not answered yet. */
  waiting = 0
  readonly waiterDone = (): void => {
    this.waiting--
  }
  /** Deliveries of user and of system events that ended, and how many of them did not succeed. */
  userSettled = 0
  userFailures = 0
  systemSettled = 0
  systemFailures = 0
  /** One grace per closing scope, shared by every wait in it (the window opens at the first read). */
  readonly graceWindows = new WeakMap<object, number>()
  /** Subscriptions that ended while deliveries still ran; folded into `retired` once quiet. */
  readonly ending = new Set<SubscriptionRuntime>()
  unrouted = 0
  /** Deliveries handed to subscriptions (or held for them), and those ended. */
  offered = 0
  settled = 0
  /** Failure reports owed or on their way through admission. */
  systemPending = 0
  dispatching = false
  sequence = 0

  publishChain: Publish | undefined
  deliveryMiddleware: ReadonlyArray<(next: Deliver) => Deliver> = []
  undelivered: Undelivered | undefined

  readonly idle: Idle

  constructor(options: {
    readonly options: Options.Resolved
    readonly clock: Clock.Clock
    readonly context: Context.Context<never>
    readonly lanes: readonly [Lane, Lane, Lane]
    readonly wake: Latch.Latch
    readonly permits: Permits
  }) {
    this.options = options.options
    this.clock = options.clock
    this.context = options.context
    this.lanes = options.lanes
    this.wake = options.wake
    this.permits = options.permits
    this.idle = new Idle(() => this.isIdle())
  }

  isIdle(): boolean {
    return (
      !this.dispatching &&
      this.offered === this.settled &&
      this.systemPending === 0 &&
      this.lanes[0].size === 0 &&
      this.lanes[1].size === 0 &&
      this.lanes[2].size === 0
    )
  }

  /** Counts one publish, user or system. */
  count(type: string, n: number): void {
    if (isSystem(type)) this.systemPublished += n
    else this.published += n
  }
}
