/**
 * Subscriptions coming and going, redelivery, run-time configuration, and
 * the bus's shutdown.
 */
import { type Context, Deferred, Duration, Effect, Fiber, Queue, type Scope, Stream } from "effect"
import type { Outcome, SubscriptionInfo } from "../Delivery.ts"
import type { Envelope } from "../Envelope.ts"
import { BusClosedError, InvalidOptions, type PublishError } from "../Errors.ts"
import type { SubscribeOptions, Subscription } from "../EventBus.ts"
import { type Definition, isDefinition } from "../Event.ts"
import { compose } from "../Middleware.ts"
import * as Options from "../Options.ts"
import { NoSubscription } from "../Plugin.ts"
import * as Selector from "../Selector.ts"
import { retire } from "./accounting.ts"
import type { Dispatcher } from "./dispatcher.ts"
import { type Handler, invoke } from "./invoke.ts"
import { Job, Tracker } from "./job.ts"
import type { Reports } from "./reports.ts"
import type { BusState } from "./state.ts"
import { type Host, SubscriptionRuntime } from "./subscription.ts"

export type SubscribeOptionsOf<S extends Selector.Selector> = SubscribeOptions<
  Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>
>

const isSelector = (u: unknown): u is Selector.Selector => {
  if (Array.isArray(u)) return u.length > 0 && u.every(isDefinition)
  if (typeof u !== "object" || u === null) return false
  const pattern = u as Selector.Pattern
  return isDefinition(u) || (pattern._tag === "Pattern" && pattern.regex instanceof RegExp)
}

const label = (selector: Selector.Selector): string => {
  if ("_tag" in selector) return selector._tag === "Pattern" ? selector.pattern : selector.name
  return (selector as ReadonlyArray<Definition>).map((d) => d.name).join("|")
}

/**
 * What is left of the grace that subscriptions closing together share: a
 * scope closing 10 subscriptions, then the bus, waits one `shutdownGrace` in
 * all, not one each. A deadline past by more than a moment starts a new one.
 */
const graceLeft = (state: BusState): Duration.Duration => {
  const now = state.clock.currentTimeMillisUnsafe()
  if (state.graceEnds === undefined || now > state.graceEnds + 50) {
    state.graceEnds = now + Duration.toMillis(state.options.shutdownGrace)
  }
  return Duration.millis(Math.max(0, state.graceEnds - now))
}

// Interrupted fibers get two scheduler turns to end; those still running
// ignore interruption and are abandoned, counted, not awaited.
const settleTurns = Effect.andThen(Effect.yieldNow, Effect.yieldNow)

const unsubscribe = (state: BusState, sub: SubscriptionRuntime) =>
  Effect.withFiber((fiber) => {
    state.subscriptions.delete(sub.info.name)
    state.routes.clear()
    if (sub.isOwn(fiber)) {
      // A handler closing its own subscription's scope: waiting for the
      // subscription to go quiet would wait for this very delivery.
      sub.stop(fiber)
      sub.abandon(fiber)
      retire(state, sub)
      return Effect.void
    }
    return Effect.gen(function* () {
      yield* Effect.timeoutOption(sub.idle, graceLeft(state))
      sub.stop()
      if (!sub.quietNow()) yield* settleTurns
      sub.abandon()
      retire(state, sub)
    })
  })

export const subscribe = <S extends Selector.Selector, E, R>(
  state: BusState,
  host: Host,
  selector: S,
  handler: (envelope: Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>) => Effect.Effect<unknown, E, R>,
  opts?: SubscribeOptions<Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>>
): Effect.Effect<Subscription, InvalidOptions, R | Scope.Scope> =>
  Effect.gen(function* () {
    if (!isSelector(selector)) {
      return yield* new InvalidOptions({
        target: "subscribe",
        message: 'Expected an event definition, an array of them or a Selector.pattern\n  at ["selector"]'
      })
    }
    if (typeof handler !== "function") {
      return yield* new InvalidOptions({
        target: "subscribe",
        message: 'Expected a function returning an Effect\n  at ["handler"]'
      })
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
    yield* Effect.addFinalizer(() => unsubscribe(state, sub))
    state.subscriptions.set(name, sub)
    state.routes.clear()
    return {
      name,
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

const EventsOptions = Options.SubscribeOptions.mapFields((f) => ({ name: f.name, capacity: Options.Capacity }))

export const events = <S extends Selector.Selector>(
  state: BusState,
  host: Host,
  selector: S,
  opts?: { readonly name?: string; readonly capacity?: number }
): Stream.Stream<Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>, InvalidOptions> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const decoded = yield* Options.decode(EventsOptions, "events", opts)
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

export const redeliver = (
  state: BusState,
  name: string,
  envelope: Envelope
): Effect.Effect<Outcome, PublishError | NoSubscription> =>
  Effect.suspend((): Effect.Effect<Outcome, PublishError | NoSubscription> => {
    const sub = state.subscriptions.get(name)
    if (sub === undefined) return Effect.fail(new NoSubscription({ subscription: name }))
    if (state.phase === "stopped") {
      state.refused++
      return Effect.fail(new BusClosedError({ type: envelope.type }))
    }
    const tracker = new Tracker(envelope)
    tracker.expect(1)
    state.offered++
    const job = new Job(envelope, tracker)
    // A full `suspend` mailbox: wait for room rather than refuse.
    const place = (first: boolean): Effect.Effect<void> =>
      (first ? sub.offer(job) : sub.place(job)) ? Effect.void : Effect.andThen(Effect.sleep(1), place(false))
    return Effect.andThen(place(true), Effect.map(Deferred.await(tracker.deferred), (r) => r.deliveries[0]!))
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

/**
 * Stops intake, drains within the grace, runs the plugins' final flushes,
 * then interrupts what is left and counts it.
 */
export const shutdown = (
  state: BusState,
  dispatcher: Dispatcher,
  reports: Reports,
  fiber: Fiber.Fiber<never>,
  afterDrain: () => ReadonlyArray<Effect.Effect<void>>
) =>
  Effect.gen(function* () {
    state.phase = "draining"
    yield* Effect.timeoutOption(state.idle.await, graceLeft(state))
    for (const flush of afterDrain()) yield* flush
    state.phase = "stopped"
    yield* Fiber.interrupt(fiber)
    for (const lane of state.lanes) {
      lane.release()
      for (const job of lane.discardAll()) job.tracker?.end("interrupted")
    }
    for (const sub of state.subscriptions.values()) sub.stop()
    dispatcher.stop()
    reports.discard()
    const subs = Array.from(state.subscriptions.values())
    if (subs.some((sub) => !sub.quietNow())) yield* settleTurns
    for (const sub of subs) sub.abandon()
  })
