/**
 * The bus's machinery: admission, lanes, the dispatcher fiber, routing,
 * subscriptions, accounting and shutdown.
 */
import { Clock, Context, Deferred, Duration, Effect, Exit, Fiber, Latch, Queue, type Scope, Stream } from "effect"
import type { Outcome, SubscriptionInfo } from "../Delivery.ts"
import { type Envelope, make as makeEnvelopeAt } from "../Envelope.ts"
import { BackpressureError, BusClosedError, InvalidOptions, type PublishError } from "../Errors.ts"
import { type Definition, HandlerFailed, type Payload, type Priority } from "../Event.ts"
import { compose, type Deliver, type Publish, type Receipt } from "../Middleware.ts"
import * as Options from "../Options.ts"
import { type BusHandle, type Installed, NoSubscription, type PublishOptions } from "../Plugin.ts"
import * as Selector from "../Selector.ts"
import type { DeliveryStats, Stats, SubscriptionStats } from "../Stats.ts"
import { Idle } from "./idle.ts"
import { Job, type Result, Tracker } from "./job.ts"
import { Lane } from "./lane.ts"
import { Permits } from "./permits.ts"
import { DelaySchedule, isDelayed } from "./schedule.ts" // [peers: delayed publish]
import { type Host, invoke, SubscriptionRuntime, type Undelivered } from "./subscription.ts"

/** The tracker of the `publishAndWait` in progress, read by the innermost publish. */
const CurrentTracker = Context.Reference<Tracker | undefined>("@eventfabric/core/internal/CurrentTracker", {
  defaultValue: () => undefined
})

export interface SubscribeOptions<A = unknown> {
  readonly name?: string | undefined
  readonly concurrency?: number | undefined
  readonly timeout?: Duration.Input | undefined
  readonly mailbox?: number | undefined
  /** Only envelopes for which this returns true are delivered. */
  readonly filter?: ((envelope: A) => boolean) | undefined
}

export interface Subscription {
  readonly name: string
  readonly stats: Effect.Effect<SubscriptionStats>
  /** Re-tunes the subscription while it runs (seed 000's `configure()`). */
  readonly configure: (options: { readonly concurrency?: number | undefined }) => Effect.Effect<void, InvalidOptions>
  /**
   * Unsubscribes now, without closing the scope: no new deliveries; the ones
   * in flight or queued get the shutdown grace. Idempotent; the scope's
   * finalizer then does nothing. [peers]
   */
  readonly unsubscribe: Effect.Effect<void>
}

export type { Result }

const emptyDeliveries = (): { -readonly [K in keyof DeliveryStats]: DeliveryStats[K] } => ({
  total: 0,
  succeeded: 0,
  failed: 0,
  timedOut: 0,
  rejected: 0,
  overflowed: 0,
  interrupted: 0,
  deadLettered: 0,
  queued: 0,
  inFlight: 0
})

const settledKeys = [
  "total",
  "succeeded",
  "failed",
  "timedOut",
  "rejected",
  "overflowed",
  "interrupted",
  "deadLettered"
] as const

type State = "open" | "draining" | "stopped"

/** The subscriptions an event type routes to; cached until the set changes. */
interface Route {
  readonly targets: ReadonlyArray<SubscriptionRuntime>
  readonly filtered: boolean
}

export const make = Effect.fnUntraced(function* (options: Options.Resolved, installed: ReadonlyArray<Installed>) {
  const clock = yield* Clock.Clock
  const context = yield* Effect.context<never>()
  const lanes: Record<Priority, Lane> = {
    critical: yield* Lane.make("critical", options.lanes.critical),
    normal: yield* Lane.make("normal", options.lanes.normal),
    low: yield* Lane.make("low", options.lanes.low)
  }
  const wake = yield* Latch.make(false)
  const permits = new Permits(options.maxConcurrentHandlers)
  const subscriptions = new Map<string, SubscriptionRuntime>()
  const routes = new Map<string, Route>()
  const retired = emptyDeliveries()

  let state: State = "open"
  let published = 0
  let rejected = 0
  let deduplicated = 0
  let refused = 0
  let unrouted = 0
  let offered = 0
  let settled = 0
  let systemPending = 0
  let dispatching = false
  let turn = 0
  let sequence = 0
  let publishChain: Publish | undefined
  let deliveryMiddleware: ReadonlyArray<(next: Deliver) => Deliver> = []
  let undelivered: Undelivered | undefined
  let afterDrain: ReadonlyArray<Effect.Effect<void>> = []

  // ---- accounting -------------------------------------------------------

  const isIdle = () =>
    !dispatching &&
    offered === settled &&
    systemPending === 0 &&
    lanes.critical.size === 0 &&
    lanes.normal.size === 0 &&
    lanes.low.size === 0

  const idle = new Idle(isIdle)
  const checkIdle = () => idle.check()
  const drain = idle.await

  const kicks: Array<SubscriptionRuntime> = []
  const flushKicks = () => {
    for (let i = 0; i < kicks.length; i++) {
      const sub = kicks[i]!
      sub.kickPending = false
      sub.pump()
    }
    kicks.length = 0
  }

  const host: Host = {
    permits,
    kick(sub) {
      if (sub.kickPending) return
      sub.kickPending = true
      kicks.push(sub)
    },
    settled(subscription, job, status, error, deadLettered) {
      settled++
      if (job.tracker !== undefined || error !== undefined) {
        const outcome: Outcome = { subscription: subscription.info.name, status, error, deadLettered }
        // Report before resolving the tracker: its waiter may resume inline and
        // drain or close the bus, which must already count the report.
        if (error !== undefined && status !== "rejected" && !job.envelope.type.startsWith("system.")) {
          reportFailure(subscription.info, job.envelope, outcome)
        }
        job.tracker?.settle(outcome)
      }
      checkIdle()
    }
  }

  // Failures of system events are counted but not re-published: a failing
  // `system.handler_error` subscriber must not feed itself.
  const reportFailure = (info: SubscriptionInfo, envelope: Envelope, outcome: Outcome) => {
    const error = outcome.error!
    const payload = {
      subscription: info.name,
      eventId: envelope.id,
      eventType: envelope.type,
      reason: error._tag,
      attempt: envelope.attempt,
      cause: error.message
    }
    const options = { causationId: envelope.id, correlationId: envelope.correlationId ?? envelope.id }
    // Fast path, no admission middleware and room on the lane: enqueue here.
    // A slow subscriber can overflow thousands of times a second, and a fiber
    // per report made those reports the other subscriptions' latency.
    if (publishChain === undefined && state !== "stopped") {
      const report = makeEnvelope(HandlerFailed, payload, options)
      if (lanes.critical.offer(new Job(report, undefined))) {
        published++
        lanes.critical.accepted++
        if (!wake.isOpen()) Effect.runForkWith(context)(wake.open)
        return
      }
    }
    systemPending++
    Effect.runForkWith(context)(
      publishWith(HandlerFailed, payload, options, true).pipe(
        Effect.ignore,
        Effect.ensuring(
          Effect.sync(() => {
            systemPending--
            checkIdle()
          })
        )
      )
    )
  }

  // ---- admission --------------------------------------------------------

  const accepted = (lane: Lane, envelope: Envelope): Effect.Effect<Receipt> => {
    lane.accepted++
    const receipt: Receipt = { id: envelope.id, type: envelope.type, lane: lane.priority, status: "accepted" }
    return wake.isOpen() ? Effect.succeed(receipt) : Effect.as(wake.open, receipt)
  }

  const enqueue = (envelope: Envelope, tracker: Tracker | undefined): Effect.Effect<Receipt, PublishError> => {
    const lane = lanes[envelope.priority]
    const job = new Job(envelope, tracker)
    if (lane.offer(job)) return accepted(lane, envelope)
    switch (lane.strategy) {
      case "dropping": {
        lane.dropped++
        tracker?.end("dropped")
        return Effect.succeed({ id: envelope.id, type: envelope.type, lane: lane.priority, status: "dropped" })
      }
      case "sliding": {
        lane.evictOldest()?.tracker?.end("evicted")
        lane.offer(job)
        return accepted(lane, envelope)
      }
      case "fail": {
        lane.dropped++
        return Effect.fail(new BackpressureError({ lane: lane.priority, capacity: lane.capacity, type: envelope.type }))
      }
      case "suspend": {
        return Effect.flatMap(
          lane.offerWhenSpace(job, () => state === "stopped"),
          (ok): Effect.Effect<Receipt, PublishError> => {
            if (ok) return accepted(lane, envelope)
            refused++
            published--
            return Effect.fail(new BusClosedError({ type: envelope.type }))
          }
        )
      }
    }
  }

  const innermost: Publish = (envelope) => Effect.flatMap(CurrentTracker, (t) => enqueue(envelope, t))

  // Admission middleware may refuse (InvalidEvent) or suppress (deduplicated)
  // without reaching `enqueue`; those verdicts are counted here, once.
  const countVerdict = (exit: Exit.Exit<Receipt, PublishError>) => {
    if (Exit.isSuccess(exit)) {
      if (exit.value.status === "deduplicated") deduplicated++
    } else if (exit.cause.reasons.some((r) => r._tag === "Fail" && r.error._tag === "InvalidEvent")) {
      rejected++
    }
    return Effect.void
  }

  const admit = (envelope: Envelope, definition: Definition, tracker: Tracker | undefined) => {
    if (publishChain === undefined) return enqueue(envelope, tracker)
    const chained = Effect.onExit(publishChain(envelope, definition), countVerdict)
    return tracker === undefined ? chained : Effect.provideService(chained, CurrentTracker, tracker)
  }

  const makeEnvelope = (definition: Definition, payload: unknown, opts: PublishOptions | undefined): Envelope =>
    makeEnvelopeAt(definition, payload, opts, clock.currentTimeMillisUnsafe())

  const closedError = (definition: Definition) =>
    Effect.suspend(() => {
      refused++
      return Effect.fail(new BusClosedError({ type: definition.name }))
    })

  const publishWith = <D extends Definition>(
    definition: D,
    payload: Payload<D>,
    opts: PublishOptions | undefined,
    internal: boolean
  ): Effect.Effect<Receipt, PublishError> =>
    Effect.suspend(() => {
      if (state !== "open" && !(internal && state === "draining")) return closedError(definition)
      if (isDelayed(opts)) return schedule.publish(definition, payload, opts!) // [peers: delayed publish]
      published++
      return admit(makeEnvelope(definition, payload, opts), definition, undefined)
    })

  const publish = <D extends Definition>(definition: D, payload: Payload<D>, opts?: PublishOptions) =>
    publishWith(definition, payload, opts, false)

  const publishAndWait = <D extends Definition>(
    definition: D,
    payload: Payload<D>,
    opts?: PublishOptions
  ): Effect.Effect<Result, PublishError> =>
    Effect.suspend(() => {
      if (state !== "open") return closedError(definition)
      if (isDelayed(opts)) return schedule.publishAndWait(definition, payload, opts!) // [peers: delayed publish]
      published++
      const envelope = makeEnvelope(definition, payload, opts)
      const tracker = new Tracker(envelope)
      return Effect.flatMap(admit(envelope, definition, tracker), (receipt) => {
        if (receipt.status !== "accepted" && receipt.status !== "scheduled") tracker.end(receipt.status) // [peers]
        return Deferred.await(tracker.deferred)
      })
    })

  // [peers: delayed publish] held events re-enter through the public publish when due.
  const schedule = new DelaySchedule({
    capacity: options.schedule.capacity,
    context,
    publish: (definition, payload, opts) => publish(definition, payload as never, opts),
    publishAndWait: (definition, payload, opts) => publishAndWait(definition, payload as never, opts)
  })

  // ---- dispatch ---------------------------------------------------------

  const route = (type: string): Route => {
    let r = routes.get(type)
    if (r === undefined) {
      const targets = Array.from(subscriptions.values()).filter((s) => s.matches(type))
      r = { targets, filtered: targets.some((s) => s.filter !== undefined) }
      routes.set(type, r)
    }
    return r
  }

  const dispatch = (job: Job) => {
    const envelope = job.envelope
    lanes[envelope.priority].dispatched++
    const r = route(envelope.type)
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
      unrouted++
      job.tracker?.expect(0)
      return
    }
    offered += count
    job.tracker?.expect(count)
    for (let i = 0; i < targets.length; i++) targets[i]!.offer(job)
    if (failedFilters) for (const [s, defect] of failedFilters) s.failFilter(job, defect)
  }

  // CRITICAL strictly first; then NORMAL and LOW alternate by weight, the
  // turn advancing only when the preferred lane had an event.
  const cycle = options.weights.normal + options.weights.low
  const next = (): Job | undefined => {
    const critical = lanes.critical.take()
    if (critical !== undefined) return critical
    const preferNormal = turn < options.weights.normal
    const job = (preferNormal ? lanes.normal : lanes.low).take()
    if (job !== undefined) {
      turn = (turn + 1) % cycle
      return job
    }
    return (preferNormal ? lanes.low : lanes.normal).take()
  }

  const BATCH = 512
  const dispatcher = Effect.gen(function* () {
    while (true) {
      dispatching = true
      let n = 0
      for (let job = next(); job !== undefined; job = n < BATCH ? next() : undefined) {
        dispatch(job)
        // Workers start every few events: often enough for latency, rarely
        // enough that one worker fiber runs several deliveries.
        if ((++n & 31) === 0) flushKicks()
      }
      flushKicks()
      dispatching = false
      if (n === BATCH) {
        yield* Effect.yieldNow
        continue
      }
      // Close, then look again: an event offered between the last take and
      // the close would otherwise wait for the next one.
      wake.closeUnsafe()
      const job = next()
      if (job !== undefined) {
        wake.openUnsafe()
        dispatching = true
        dispatch(job)
        flushKicks()
        dispatching = false
        continue
      }
      checkIdle()
      yield* wake.await
    }
  })

  // ---- subscriptions ----------------------------------------------------

  const retire = (sub: SubscriptionRuntime) => {
    const s = sub.stats()
    for (const key of settledKeys) retired[key] += s[key]
  }

  const unsubscribe = (sub: SubscriptionRuntime) =>
    Effect.gen(function* () {
      subscriptions.delete(sub.info.name)
      routes.clear()
      yield* Effect.timeoutOption(sub.idle, options.shutdownGrace)
      sub.stop()
      retire(sub)
    })

  const subscribe = <S extends Selector.Selector, E, R>(
    selector: S,
    handler: (envelope: Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>) => Effect.Effect<unknown, E, R>,
    opts?: SubscribeOptions<Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>>
  ): Effect.Effect<Subscription, InvalidOptions, R | Scope.Scope> =>
    Effect.gen(function* () {
      const { filter, ...rest } = opts ?? {}
      const decoded = yield* Options.decode(Options.SubscribeOptions, "subscribe", rest)
      const name = decoded.name ?? `${label(selector)}#${++sequence}`
      if (subscriptions.has(name)) {
        return yield* new InvalidOptions({ target: "subscribe", message: `subscription name "${name}" is in use` })
      }
      if (state !== "open") {
        return yield* new InvalidOptions({ target: "subscribe", message: "the bus is closed" })
      }
      const info: SubscriptionInfo = {
        name,
        concurrency: decoded.concurrency ?? 1,
        timeout: decoded.timeout ?? options.timeout,
        mailbox: decoded.mailbox ?? options.mailbox
      }
      const run = handler as (envelope: Envelope) => Effect.Effect<unknown, unknown>
      const sub = new SubscriptionRuntime({
        info,
        matches: (type) => Selector.matches(selector, type),
        filter: filter as ((envelope: Envelope) => boolean) | undefined,
        handler: run,
        deliver: deliveryMiddleware.length === 0 ? undefined : compose(deliveryMiddleware, invoke(run)),
        undelivered,
        context: (yield* Effect.context<R>()) as Context.Context<never>,
        host
      })
      // [peers: unsubscribe handle] once, by the handle or by the scope, whichever is first.
      let stopped = false
      const stop = Effect.suspend(() => {
        if (stopped) return Effect.void
        stopped = true
        return unsubscribe(sub)
      })
      yield* Effect.addFinalizer(() => stop)
      subscriptions.set(name, sub)
      routes.clear()
      return {
        name,
        unsubscribe: stop,
        stats: Effect.sync(() => sub.stats()),
        configure: (input) =>
          Effect.map(
            Options.decode(
              Options.SubscribeOptions.mapFields((f) => ({ concurrency: f.concurrency })),
              "configure",
              input
            ),
            (decoded) => {
              if (decoded.concurrency !== undefined) sub.setConcurrency(decoded.concurrency)
            }
          )
      }
    })

  const events = <S extends Selector.Selector>(
    selector: S,
    opts?: { readonly name?: string; readonly capacity?: number }
  ): Stream.Stream<Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>, InvalidOptions> =>
    Stream.unwrap(
      Effect.gen(function* () {
        const capacity = opts?.capacity ?? options.mailbox
        const queue = yield* Queue.bounded<Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>>(capacity)
        yield* subscribe(selector, (envelope) => Queue.offer(queue, envelope), {
          name: opts?.name,
          mailbox: capacity,
          timeout: Duration.infinity
        })
        return Stream.fromQueue(queue)
      })
    )

  const redeliver = (name: string, envelope: Envelope): Effect.Effect<Outcome, PublishError | NoSubscription> =>
    Effect.suspend((): Effect.Effect<Outcome, PublishError | NoSubscription> => {
      const sub = subscriptions.get(name)
      if (sub === undefined) return Effect.fail(new NoSubscription({ subscription: name }))
      if (state === "stopped") return closedError({ name: envelope.type } as Definition)
      const tracker = new Tracker(envelope)
      tracker.expect(1)
      offered++
      sub.offer(new Job(envelope, tracker))
      flushKicks()
      return Effect.map(Deferred.await(tracker.deferred), (r) => r.deliveries[0]!)
    })

  // ---- stats, configure, shutdown ---------------------------------------

  const stats = Effect.sync((): Stats => {
    const deliveries = { ...retired }
    const subs: Array<SubscriptionStats> = []
    for (const sub of subscriptions.values()) {
      const s = sub.stats()
      subs.push(s)
      for (const key of settledKeys) deliveries[key] += s[key]
      deliveries.queued += s.queued
      deliveries.inFlight += s.inFlight
    }
    const laneStats = { critical: lanes.critical.stats(), normal: lanes.normal.stats(), low: lanes.low.stats() }
    const sum = (key: "accepted" | "dropped" | "evicted" | "dispatched" | "discarded" | "queued") =>
      laneStats.critical[key] + laneStats.normal[key] + laneStats.low[key]
    return {
      published,
      rejected,
      deduplicated,
      dropped: sum("dropped"),
      accepted: sum("accepted"),
      evicted: sum("evicted"),
      dispatched: sum("dispatched"),
      unrouted,
      discarded: sum("discarded"),
      refused,
      queued: sum("queued"),
      scheduled: schedule.stats(), // [peers: delayed publish]
      lanes: laneStats,
      deliveries,
      subscriptions: subs,
      maxConcurrentHandlers: permits.max,
      closed: state !== "open"
    }
  })

  const configure = (input: { readonly maxConcurrentHandlers?: number | undefined }) =>
    Effect.map(
      Options.decode(
        Options.BusOptions.mapFields((f) => ({ maxConcurrentHandlers: f.maxConcurrentHandlers })),
        "configure",
        input
      ),
      (decoded) => {
        if (decoded.maxConcurrentHandlers !== undefined) permits.resize(decoded.maxConcurrentHandlers)
      }
    )

  const dispatcherFiber = yield* Effect.forkScoped(dispatcher)

  const shutdown = Effect.gen(function* () {
    state = "draining"
    yield* schedule.cancelAll() // [peers: delayed publish] the shutdown rule: held events are cancelled
    yield* Effect.timeoutOption(drain, options.shutdownGrace)
    for (const flush of afterDrain) yield* flush
    state = "stopped"
    yield* Fiber.interrupt(dispatcherFiber)
    for (const lane of Object.values(lanes)) {
      lane.release()
      for (const job of lane.discardAll()) job.tracker?.end("interrupted")
    }
    for (const sub of subscriptions.values()) sub.stop()
  })
  yield* Effect.addFinalizer(() => shutdown)

  const handle: BusHandle = { publish, redeliver, stats }
  // Installed after the shutdown finalizer, so plugin finalizers (batch
  // flushes) run first, while the bus still delivers.
  const hooks = yield* Effect.forEach(installed, (plugin) => plugin.install(handle))
  const publishMiddleware = hooks.flatMap((h) => (h.publish ? [h.publish] : []))
  deliveryMiddleware = hooks.flatMap((h) => (h.delivery ? [h.delivery] : []))
  afterDrain = hooks.flatMap((h) => (h.afterDrain ? [h.afterDrain] : []))
  const undeliveredHooks = hooks.flatMap((h) => (h.undelivered ? [h.undelivered] : []))
  if (undeliveredHooks.length > 0) {
    // The first hook that stores the delivery wins.
    undelivered = (delivery, error) => {
      const from = (i: number): Effect.Effect<string | undefined> =>
        i === undeliveredHooks.length
          ? Effect.succeed(undefined)
          : Effect.flatMap(undeliveredHooks[i]!(delivery, error), (id) =>
              id === undefined ? from(i + 1) : Effect.succeed(id)
            )
      return from(0)
    }
  }
  if (publishMiddleware.length > 0) publishChain = compose(publishMiddleware, innermost)

  return {
    publish,
    publishAndWait,
    subscribe,
    events,
    redeliver,
    stats,
    drain,
    configure
  }
})

const label = (selector: Selector.Selector): string => {
  if ("_tag" in selector) return selector._tag === "Pattern" ? selector.pattern : selector.name
  return (selector as ReadonlyArray<Definition>).map((d) => d.name).join("|")
}
