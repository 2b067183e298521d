import type { Mailbox, MailboxApplied } from "./compat.ts"

/**
 * What every implementation under test offers the scenarios: the same work
 * (publish a payload, N subscribers each run a handler) behind one interface.
 */

/** Lane of an event: 0 critical, 1 normal, 2 low. Peers without lanes ignore it. */
export type LaneIndex = 0 | 1 | 2

export interface Payload {
  readonly seq: number
  /** Intended send time, ms on the performance.now clock (open loop); 0 in closed loops. */
  readonly t: number
  readonly lane: LaneIndex
}

/** The fast handler's body, called synchronously by each subscriber. */
export type Handler = (subscriber: number, payload: Payload) => void

export interface SetupOptions {
  readonly subscribers: number
  readonly handler: Handler
  /**
   * Makes subscriber `index` slow: after the handler body, it waits `ms`
   * asynchronously; `ms: Infinity` makes it stuck (it never completes).
   */
  readonly slow?: { readonly index: number; readonly ms: number } | undefined
  /** eventfabric only: the slow subscriber's mailbox (through `compat.ts`). */
  readonly slowMailbox?: Mailbox | undefined
  /** eventfabric only: bus options (lanes, ...). */
  readonly busOptions?: unknown
  /** eventfabric only: plugins (core `Plugin.Plugin` values), outermost first. */
  readonly plugins?: ReadonlyArray<unknown> | undefined
  /** eventfabric only: layers providing what the plugins need. */
  readonly pluginLayers?: ReadonlyArray<unknown> | undefined
}

export interface Counters {
  /** Events the implementation refused or lost before delivery, by lane (eventfabric: from `bus.stats`). */
  readonly dropped: readonly [number, number, number]
  readonly published: number
  /** Deliveries refused or lost after dispatch (mailbox overflow, mailbox drops). */
  readonly deliveriesLost?: number | undefined
  /** Anything else worth reporting (stats snapshot). */
  readonly detail?: unknown
}

export interface Instance {
  /** Hands the payloads to the implementation, fire and forget, in order. */
  readonly send: (batch: ReadonlyArray<Payload>) => void
  /** Events waiting inside the implementation now (queues, lanes, mailboxes); undefined when it has none. */
  readonly depth: () => number | undefined
  /** Payloads handed to `send` that the implementation has not taken yet (the feeder's backlog). */
  readonly backlog?: () => number
  /** Counters after a run (eventfabric reads `bus.stats`). */
  readonly counters?: () => Counters
  readonly close: () => Promise<void>
  /** eventfabric only: how the slow subscriber's mailbox request was applied by this core. */
  readonly mailboxApplied?: MailboxApplied | undefined
  /** eventfabric only: whether publishes went through `publishAll`. */
  readonly publishesBatched?: boolean | undefined
}

export interface Impl {
  readonly name: string
  readonly setup: (options: SetupOptions) => Promise<Instance>
}
