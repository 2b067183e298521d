/**
 * The bus assembled: state, lanes, the dispatcher fiber, accounting,
 * admission and lifecycle wired together, then the plugins installed.
 */
import { Clock, Effect, Latch, Scope } from "effect"
import type { Envelope } from "../Envelope.ts"
import { type Definition, HandlerFailed, type Payload, type Priority } from "../Event.ts"
import type * as Options from "../Options.ts"
import type { BusHandle, Installed, PublishOptions } from "../Plugin.ts"
import type * as Selector from "../Selector.ts"
import { host as makeHost, stats as snapshot } from "./accounting.ts"
import * as Admission from "./admission.ts"
import { Dispatcher } from "./dispatcher.ts"
import { Job } from "./job.ts"
import { Lane } from "./lane.ts"
import * as Lifecycle from "./lifecycle.ts"
import { Permits } from "./permits.ts"
import { type Report, Reports } from "./reports.ts"
import { BusState } from "./state.ts"
import type { Undelivered } from "./subscription.ts"

export const make = Effect.fnUntraced(function* (options: Options.Resolved, installed: ReadonlyArray<Installed>) {
  const lane = (priority: Priority) => Lane.make(priority, options.lanes[priority])
  const state = new BusState({
    options,
    clock: yield* Clock.Clock,
    context: yield* Effect.context<never>(),
    lanes: [yield* lane("critical"), yield* lane("normal"), yield* lane("low")],
    wake: yield* Latch.make(false),
    permits: new Permits(options.maxConcurrentHandlers)
  })
  const reports = new Reports(state)

  // A report takes over its pending count; with no admission middleware and
  // room on the CRITICAL lane it is enqueued right here, else published
  // through the chain in a fiber of its own.
  const emit = (report: Report, cause: Envelope) => {
    const opts = { causationId: cause.id, correlationId: cause.correlationId ?? cause.id }
    if (state.publishChain === undefined && state.phase !== "stopped") {
      const envelope = Admission.makeEnvelope(state, HandlerFailed, report, opts)
      if (state.lanes[0].offer(new Job(envelope, undefined))) {
        state.systemPublished++
        state.lanes[0].accepted++
        state.systemPending--
        return
      }
    }
    Effect.runForkWith(state.context)(
      Admission.publish(state, HandlerFailed, report, opts, true).pipe(
        Effect.ignore,
        Effect.ensuring(
          Effect.sync(() => {
            state.systemPending--
            state.idle.check()
          })
        )
      )
    )
  }

  const dispatcher = new Dispatcher(state, reports, emit)
  const host = makeHost(state, reports, dispatcher)

  const publish = <D extends Definition>(definition: D, payload: Payload<D>, opts?: PublishOptions) =>
    Admission.publish(state, definition, payload, opts, false)
  const redeliver = (name: string, envelope: Envelope) => Lifecycle.redeliver(state, name, envelope)
  const stats = Effect.sync(() => snapshot(state))

  const fiber = yield* Effect.forkScoped(dispatcher.run)
  const scope = yield* Scope.Scope
  let afterDrain: ReadonlyArray<Effect.Effect<void>> = []
  let recorders: ReadonlyArray<(envelope: Envelope) => Effect.Effect<void>> = []
  yield* Effect.addFinalizer(() =>
    Lifecycle.shutdown(
      state,
      dispatcher,
      reports,
      fiber,
      scope,
      () => afterDrain,
      () => recorders
    )
  )

  const handle: BusHandle = { publish, redeliver, stats }
  // Installed after the shutdown finalizer, so plugin finalizers (batch
  // flushes) run first, while the bus still delivers.
  const hooks = yield* Effect.forEach(installed, (plugin) => plugin.install(handle))
  const publishMiddleware = hooks.flatMap((h) => (h.publish ? [h.publish] : []))
  state.deliveryMiddleware = hooks.flatMap((h) => (h.delivery ? [h.delivery] : []))
  afterDrain = hooks.flatMap((h) => (h.afterDrain ? [h.afterDrain] : []))
  recorders = hooks.flatMap((h) => (h.record ? [h.record] : []))
  const undeliveredHooks = hooks.flatMap((h) => (h.undelivered ? [h.undelivered] : []))
  if (undeliveredHooks.length > 0) {
    // The first hook that stores the delivery wins.
    const undelivered: Undelivered = (delivery, error) => {
      const from = (i: number): Effect.Effect<string | undefined> =>
        i === undeliveredHooks.length
          ? Effect.succeed(undefined)
          : Effect.flatMap(undeliveredHooks[i]!(delivery, error), (id) =>
              id === undefined ? from(i + 1) : Effect.succeed(id)
            )
      return from(0)
    }
    state.undelivered = undelivered
  }
  if (publishMiddleware.length > 0) state.publishChain = Admission.chain(state, publishMiddleware)

  return {
    publish,
    publishAll: <D extends Definition>(definition: D, payloads: Iterable<Payload<D>>, opts?: PublishOptions) =>
      Admission.publishAll(state, definition, payloads, opts),
    publishAndWait: <D extends Definition>(definition: D, payload: Payload<D>, opts?: PublishOptions) =>
      Admission.publishAndWait(state, definition, payload, opts),
    subscribe: <S extends Selector.Selector, E, R>(
      selector: S,
      handler: (envelope: Envelope<Selector.PayloadOf<S>, Selector.NameOf<S>>) => Effect.Effect<unknown, E, R>,
      opts?: Lifecycle.SubscribeOptionsOf<S>
    ) => Lifecycle.subscribe(state, host, selector, handler, opts),
    events: <S extends Selector.Selector>(selector: S, opts?: { readonly name?: string; readonly capacity?: number }) =>
      Lifecycle.events(state, host, selector, opts),
    redeliver,
    stats,
    drain: state.idle.await,
    configure: (input: { readonly maxConcurrentHandlers?: number | undefined }) => Lifecycle.configure(state, input)
  }
})
