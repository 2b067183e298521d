/**
 * Subscriptions coming and going, redelivery, run-time configuration, and
 * the bus's shutdown.
 */
import { type Context, Deferred, Duration, Effect, Fiber, Queue, Schema, Scope, Stream } from "effect"
import type { Outcome, SubscriptionInfo } from "../Delivery.ts"
import { type Envelope, Any as EnvelopeAny } from "../Envelope.ts"
import { BusClosedError, InvalidEvent, InvalidOptions, type PublishError } from "../Errors.ts"
import { BusStopped, BusStopping, type Definition } from "../Event.ts"
import type { SubscribeOptions, Subscription } from "../EventBus.ts"
import { compose } from "../Middleware.ts"
import * as Options from "../Options.ts"
import { NoSubscription } from "../Plugin.ts"
import * as Selector from "../Selector.ts"
import type { Stats } from "../Stats.ts"
import { retire, stats } from "./accounting.ts"
import { makeEnvelope } from "./admission.ts"
import type { Dispatcher } from "./dispatcher.ts"
import { type Handler, invoke } from "./invoke.ts"
import { Job, Tracker } from "./job.ts"
import type { Reports } from "./reports.ts"
import type { BusState } from "./state.ts"
import { CurrentSubscription, type Host, SubscriptionRuntime } from "./subscription.ts"

export type SubscribeOptionsOf<S extends Selector.Selector> = SubscribeOptions<
  Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>
>

const label = (selector: Selector.Selector): string => {
  if ("_tag" in selector) return selector._tag === "Pattern" ? selector.pattern : selector.name
  return (selector as ReadonlyArray<Definition>).map((d) => d.name).join("|")
}

/**
 * What is left of the shutdown grace of `scope`. Every wait of one closing
 * scope shares one grace, the window opening at the first read: ten
 * subscriptions closed together, then the bus, wait one `shutdownGrace` in
 * all, not one each (and a flushing finalizer, Batching's, stays within it).
 */
export const graceLeft = (state: BusState, scope: object): Duration.Duration => {
  const now = state.clock.currentTimeMillisUnsafe()
  let deadline = state.graceWindows.get(scope)
  if (deadline === undefined) {
    deadline = now + Duration.toMillis(state.options.shutdownGrace)
    state.graceWindows.set(scope, deadline)
  }
  const left = deadline - now
  return left === Infinity ? Duration.infinity : Duration.millis(Math.max(0, left))
}

// Interrupted fibers get two scheduler turns to end; those still running
// ignore interruption and are abandoned: counted, reported, not awaited.
const settleTurns = Effect.andThen(Effect.yieldNow, Effect.yieldNow)

const abandonLeft = (subs: ReadonlyArray<SubscriptionRuntime>) =>
  Effect.gen(function* () {
    if (subs.some((sub) => !sub.quietNow())) yield* settleTurns
    let abandoned = 0
    for (const sub of subs) abandoned += sub.abandon()
    if (abandoned > 0) {
      yield* Effect.logWarning(`eventfabric: abandoned ${abandoned} deliveries whose handlers would not stop`)
    }
  })

// Lets what was routed finish within the scope's grace, interrupts the rest,
// abandons handlers that will not stop.
const finishLeaving = (state: BusState, sub: SubscriptionRuntime, scope: object) =>
  Effect.gen(function* () {
    yield* Effect.timeoutOption(sub.idle, graceLeft(state, scope))
    sub.stop()
    yield* abandonLeft([sub])
    retire(state, sub)
  })

const unsubscribe = (state: BusState, sub: SubscriptionRuntime, scope: object) =>
  Effect.gen(function* () {
    state.subscriptions.delete(sub.info.name)
    state.routes.clear()
    state.ending.add(sub)
    // A handler closing its own subscription's scope must not wait for
    // itself: the rest finishes in the background.
    if ((yield* CurrentSubscription) === sub) {
      Effect.runForkWith(state.context)(finishLeaving(state, sub, scope))
      return
    }
    yield* finishLeaving(state, sub, scope)
  })

export const subscribe = <S extends Selector.Selector, E, R>(
  state: BusState,
  host: Host,
  selector: S,
  handler: (envelope: Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>) => Effect.Effect<unknown, E, R>,
  opts?: SubscribeOptions<Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>>
): Effect.Effect<Subscription, InvalidOptions, R | Scope.Scope> =>
  Effect.gen(function* () {
    const problem = Selector.problem(selector)
    if (problem !== undefined) return yield* new InvalidOptions({ target: "subscribe", message: problem })
    if (typeof handler !== "function") {
      return yield* new InvalidOptions({
        target: "subscribe",
        message: `Expected a handler function, got ${handler === null ? "null" : typeof handler}\n  at ["handler"]`
      })
    }
    if (opts !== undefined && (typeof opts !== "object" || opts === null)) {
      return yield* new InvalidOptions({ target: "subscribe", message: 'Expected an object\n  at ["options"]' })
    }
    const decoded = yield* Options.decode(Options.SubscribeOptions, "subscribe", opts)
    const name = decoded.name ?? `${label(selector)}#${++state.sequence}`
    if (state.subscriptions.has(name)) {
      return yield* new InvalidOptions({ target: "subscribe", message: `subscription name "${name}" is in use` })
    }
    if (state.phase !== "open") {
      return yield* new InvalidOptions({ target: "subscribe", message: "the bus is closed" })
    }
    const mailbox = decoded.mailbox
    const capacity = typeof mailbox === "number" ? mailbox : (mailbox?.capacity ?? state.options.mailbox)
    const strategy = typeof mailbox === "number" ? undefined : mailbox?.strategy
    const info: SubscriptionInfo = {
      name,
      concurrency: decoded.concurrency ?? 1,
      timeout: decoded.timeout ?? state.options.timeout,
      mailbox: capacity
    }
    const run = handler as Handler
    const [critical, normal, low] = state.lanes
    const chain = state.deliveryMiddleware.length === 0 ? undefined : invoke(run)
    const sub = new SubscriptionRuntime({
      info,
      strategies: [strategy ?? critical.strategy, strategy ?? normal.strategy, strategy ?? low.strategy],
      matches: (type) => Selector.matches(selector, type),
      filter: decoded.filter as ((envelope: Envelope) => boolean) | undefined,
      orderBy: decoded.orderBy as ((envelope: Envelope) => string | number) | undefined,
      handler: run,
      chain: chain && { deliver: compose(state.deliveryMiddleware, chain.deliver), direct: chain.direct },
      undelivered: state.undelivered,
      context: (yield* Effect.context<R>()) as Context.Context<never>,
      host
    })
    const scope = yield* Scope.Scope
    // Once, by the handle or by the scope, whichever comes first. The handle's
    // call gets a grace window of its own, so it does not open (and use up)
    // the window of the scope it was made in.
    let stopped = false
    const stop = (window: object) =>
      Effect.suspend(() => {
        if (stopped) return Effect.void
        stopped = true
        return unsubscribe(state, sub, window)
      })
    yield* Effect.addFinalizer(() => stop(scope))
    state.subscriptions.set(name, sub)
    state.routes.clear()
    return {
      name,
      unsubscribe: Effect.suspend(() => stop({})),
      graceLeft: Effect.sync(() => graceLeft(state, scope)),
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

export const events = <S extends Selector.Selector>(
  state: BusState,
  host: Host,
  selector: S,
  opts?: { readonly name?: string; readonly capacity?: number }
): Stream.Stream<Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>, InvalidOptions> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const decoded = yield* Options.decode(Options.EventsOptions, "events", opts)
      const capacity = decoded.capacity ?? state.options.mailbox
      const queue = yield* Queue.bounded<Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>>(capacity)
      yield* subscribe(state, host, selector, (envelope) => Queue.offer(queue, envelope), {
        name: decoded.name,
        mailbox: capacity,
        timeout: Duration.infinity
      })
      return Stream.fromQueue(queue)
    })
  )

const isEnvelope = Schema.is(EnvelopeAny)

export const redeliver = (
  state: BusState,
  name: string,
  envelope: Envelope
): Effect.Effect<Outcome, PublishError | NoSubscription> =>
  Effect.suspend((): Effect.Effect<Outcome, PublishError | NoSubscription> => {
    if (!isEnvelope(envelope)) {
      const type = (envelope as { type?: unknown } | null)?.type
      return Effect.fail(
        new InvalidEvent({
          type: typeof type === "string" ? type : "(unknown)",
          message: 'Expected an envelope (id, type, priority, publishedAt, attempt, payload)\n  at ["envelope"]'
        })
      )
    }
    const sub = typeof name === "string" ? state.subscriptions.get(name) : undefined
    if (sub === undefined) return Effect.fail(new NoSubscription({ subscription: String(name) }))
    if (state.phase === "stopped") {
      state.refused++
      return Effect.fail(new BusClosedError({ type: envelope.type }))
    }
    state.waiting++
    const tracker = new Tracker(envelope, state.waiterDone)
    tracker.expect(1)
    state.offered++
    const job = new Job(envelope, tracker)
    // A full `suspend` mailbox: wait for room rather than refuse.
    const place = (first: boolean): Effect.Effect<void> =>
      (first ? sub.offer(job) : sub.place(job))
        ? Effect.void
        : Effect.andThen(
            sub.room,
            Effect.suspend(() => place(false))
          )
    return Effect.andThen(
      place(true),
      Effect.map(Deferred.await(tracker.deferred), (r) => r.deliveries[0]!)
    )
  })

export const configure = (state: BusState, input: { readonly maxConcurrentHandlers?: number | undefined }) =>
  Effect.map(
    Options.decode(
      Options.BusOptions.mapFields((f) => ({ maxConcurrentHandlers: f.maxConcurrentHandlers })),
      "configure",
      input
    ),
    (decoded) => {
      if (decoded.maxConcurrentHandlers !== undefined) state.permits.resize(decoded.maxConcurrentHandlers)
    }
  )

const summary = (s: Stats) => ({
  published: s.published,
  system: s.system.published,
  queued: s.queued + s.deliveries.queued,
  inFlight: s.deliveries.inFlight,
  succeeded: s.deliveries.succeeded,
  failed: s.deliveries.failed,
  interrupted: s.deliveries.interrupted,
  abandoned: s.deliveries.abandoned,
  discarded: s.discarded
})

/**
 * The bus's own records (its stop): written straight to the log and the
 * record sinks (Audit), never through a lane, so a full lane cannot hold up
 * the record of the stop.
 */
const record = (state: BusState, definition: typeof BusStopping | typeof BusStopped, sinks: Sinks) =>
  Effect.gen(function* () {
    const payload = summary(stats(state))
    yield* Effect.logInfo(`eventfabric: ${definition.name}`).pipe(Effect.annotateLogs(payload))
    const envelope = makeEnvelope(state, definition, payload)
    for (const sink of sinks()) yield* Effect.ignore(sink(envelope))
  })

type Sinks = () => ReadonlyArray<(envelope: Envelope) => Effect.Effect<void>>

/**
 * Stops intake, drains within the bus scope's grace, runs the plugins' final
 * flushes, then interrupts what is left, counts it and records the stop.
 */
export const shutdown = (
  state: BusState,
  dispatcher: Dispatcher,
  reports: Reports,
  fiber: Fiber.Fiber<never>,
  scope: object,
  afterDrain: () => ReadonlyArray<Effect.Effect<void>>,
  sinks: Sinks
) =>
  Effect.gen(function* () {
    state.phase = "draining"
    // Held delayed events are cancelled, not released early nor waited for
    // (a one-day delay would outlast the grace); see internal/schedule.ts.
    yield* state.schedule.cancelAll()
    yield* record(state, BusStopping, sinks)
    yield* Effect.timeoutOption(state.idle.await, graceLeft(state, scope))
    for (const flush of afterDrain()) yield* flush
    state.phase = "stopped"
    yield* Fiber.interrupt(fiber)
    for (const lane of state.lanes) {
      lane.release()
      for (const job of lane.discardAll()) job.tracker?.end("interrupted")
    }
    const subs = Array.from(state.subscriptions.values())
    for (const sub of subs) sub.stop()
    dispatcher.stop()
    reports.discard()
    yield* abandonLeft(subs)
    yield* record(state, BusStopped, sinks)
  })
