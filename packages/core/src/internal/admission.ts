/**
 * Admission: envelopes made, passed through the publish middleware, counted,
 * and put on their lane by its strategy.
 */
import { Context, Deferred, Effect, Exit } from "effect"
import { type Envelope, make as makeEnvelopeAt, problem } from "../Envelope.ts"
import { BackpressureError, BusClosedError, InvalidEvent, type PublishError } from "../Errors.ts"
import type { Definition, Payload } from "../Event.ts"
import type { PublishResult } from "../EventBus.ts"
import { compose, type Publish, type PublishMiddleware, type Receipt } from "../Middleware.ts"
import type { PublishOptions } from "../Plugin.ts"
import { Job, Tracker } from "./job.ts"
import type { Lane } from "./lane.ts"
import type { BusState } from "./state.ts"

/** The tracker of the `publishAndWait` in progress, read by the innermost publish. */
const CurrentTracker = Context.Reference<Tracker | undefined>("@eventfabric/core/internal/CurrentTracker", {
  defaultValue: () => undefined
})

// Junk from callers outside the type system (`publish(null)`, a priority
// naming no lane): a typed refusal, counted like any other, never a defect.
const invalid = (definition: unknown, opts: unknown): InvalidEvent | undefined => {
  const message = problem(definition, opts)
  if (message === undefined) return undefined
  const name = (definition as { name?: unknown } | null)?.name
  return new InvalidEvent({ type: typeof name === "string" ? name : "(unknown)", message })
}

const rejectedWith = (state: BusState, error: InvalidEvent) =>
  Effect.suspend(() => {
    state.count(error.type, 1)
    state.rejected++
    return Effect.fail(error)
  })

const receiptOf = (lane: Lane, envelope: Envelope, status: Receipt["status"]): Receipt => ({
  id: envelope.id,
  type: envelope.type,
  lane: lane.priority,
  status
})

/** Puts a job on its lane without waiting: a receipt, or `undefined` if the lane is full. */
const offerNow = (state: BusState, job: Job): Receipt | undefined => {
  const lane = state.lanes[job.lane]
  if (lane.offer(job)) {
    lane.accepted++
    return receiptOf(lane, job.envelope, "accepted")
  }
  switch (lane.strategy) {
    case "dropping": {
      lane.dropped++
      job.tracker?.end("dropped")
      return receiptOf(lane, job.envelope, "dropped")
    }
    case "sliding": {
      // Take the freed slot before telling the evicted event's waiter: it may
      // resume and publish into it.
      const evicted = lane.evictOldest()
      const ok = lane.offer(job)
      evicted?.tracker?.end("evicted")
      if (!ok) return undefined
      lane.accepted++
      return receiptOf(lane, job.envelope, "accepted")
    }
    default:
      return undefined
  }
}

const wakeThen = <A>(state: BusState, value: A): Effect.Effect<A> =>
  state.wake.isOpen() ? Effect.succeed(value) : Effect.as(state.wake.open, value)

/**
 * Enqueues, waiting for room on a `suspend` lane. Called inside its caller's
 * `suspend` (one per publish, not two).
 */
export const enqueue = (
  state: BusState,
  envelope: Envelope,
  tracker: Tracker | undefined
): Effect.Effect<Receipt, PublishError> => {
  const job = new Job(envelope, tracker)
  const now = offerNow(state, job)
  if (now !== undefined) return now.status === "accepted" ? wakeThen(state, now) : Effect.succeed(now)
  const lane = state.lanes[job.lane]
  if (lane.strategy === "suspend" || lane.strategy === "sliding") {
    // The dispatcher must be awake to make room (a batch wakes it only at its end).
    if (!state.wake.isOpen()) state.wake.openUnsafe()
    // A publisher interrupted while it waits un-counts its publish: it
    // ends `cancelled`, not open.
    let placed = false
    const offered = lane.offerWhenSpace(
      job,
      () => state.phase === "stopped",
      () => {
        placed = true
        lane.accepted++
      }
    )
    const waiting = Effect.onInterrupt(offered, () =>
      Effect.sync(() => {
        if (placed) return
        state.cancelled++
        state.count(envelope.type, -1)
        job.tracker?.cancel()
      })
    )
    return Effect.flatMap(waiting, (ok): Effect.Effect<Receipt, PublishError> => {
      if (ok) {
        return wakeThen(state, receiptOf(lane, envelope, "accepted"))
      }
      state.refused++
      state.count(envelope.type, -1)
      return Effect.fail(new BusClosedError({ type: envelope.type }))
    })
  }
  lane.dropped++
  return Effect.fail(new BackpressureError({ lane: lane.priority, capacity: lane.capacity, type: envelope.type }))
}

// Admission middleware may refuse (InvalidEvent) or suppress (deduplicated)
// without reaching `enqueue`; those verdicts are counted here, once.
const countVerdict = (state: BusState) => (exit: Exit.Exit<Receipt, PublishError>) => {
  if (Exit.isSuccess(exit)) {
    if (exit.value.status === "deduplicated") state.deduplicated++
  } else if (exit.cause.reasons.some((r) => r._tag === "Fail" && r.error instanceof InvalidEvent)) {
    state.rejected++
  }
  return Effect.void
}

/**
 * The admission chain: the publish middleware around the enqueue, its
 * verdicts counted (one counting function per bus, not a closure per publish).
 */
export const chain = (state: BusState, middleware: ReadonlyArray<PublishMiddleware>): Publish => {
  const innermost: Publish = (envelope) => Effect.flatMap(CurrentTracker, (t) => enqueue(state, envelope, t))
  const composed = compose(middleware, innermost)
  const verdict = countVerdict(state)
  return (envelope, definition) => Effect.onExit(composed(envelope, definition), verdict)
}

const admit = (state: BusState, envelope: Envelope, definition: Definition, tracker: Tracker | undefined) => {
  const chain = state.publishChain
  if (chain === undefined) return enqueue(state, envelope, tracker)
  const chained = chain(envelope, definition)
  return tracker === undefined ? chained : Effect.provideService(chained, CurrentTracker, tracker)
}

const closedError = (state: BusState, type: string) =>
  Effect.suspend(() => {
    state.refused++
    return Effect.fail(new BusClosedError({ type }))
  })

const accepts = (state: BusState, internal: boolean) =>
  state.phase === "open" || (internal && state.phase === "draining")

export const makeEnvelope = (state: BusState, definition: Definition, payload: unknown, opts?: PublishOptions) =>
  makeEnvelopeAt(definition, payload, opts, state.clock.currentTimeMillisUnsafe())

export const publish = <D extends Definition>(
  state: BusState,
  definition: D,
  payload: Payload<D>,
  opts: PublishOptions | undefined,
  internal: boolean
): Effect.Effect<Receipt, PublishError> =>
  Effect.suspend(() => {
    const bad = invalid(definition, opts)
    if (bad !== undefined) return rejectedWith(state, bad)
    if (!accepts(state, internal)) return closedError(state, definition.name)
    state.count(definition.name, 1)
    return admit(state, makeEnvelope(state, definition, payload, opts), definition, undefined)
  })

/**
 * A batch of one definition: one clock read, envelopes made in one loop and,
 * with no admission middleware, put on the lane without an Effect step each
 * while it has room; the dispatcher is woken once.
 */
export const publishAll = <D extends Definition>(
  state: BusState,
  definition: D,
  payloads: Iterable<Payload<D>>,
  opts: PublishOptions | undefined
): Effect.Effect<ReadonlyArray<Receipt>, PublishError> =>
  Effect.suspend((): Effect.Effect<ReadonlyArray<Receipt>, PublishError> => {
    const bad = invalid(definition, opts)
    if (bad !== undefined) return rejectedWith(state, bad)
    if (!accepts(state, false)) return closedError(state, definition.name)
    if (payloads == null || typeof (payloads as any)[Symbol.iterator] !== "function") {
      return rejectedWith(
        state,
        new InvalidEvent({ type: definition.name, message: 'Expected an iterable of payloads\n  at ["payloads"]' })
      )
    }
    const items = Array.from(payloads)
    const now = state.clock.currentTimeMillisUnsafe()
    // One id per event: an `id` in the shared options would repeat.
    const shared = opts?.id === undefined ? opts : { ...opts, id: undefined }
    const receipts = new Array<Receipt>(items.length)
    let i = 0
    const loop = (): Effect.Effect<ReadonlyArray<Receipt>, PublishError> => {
      while (i < items.length) {
        if (!accepts(state, false)) return closedError(state, definition.name)
        state.count(definition.name, 1)
        const envelope = makeEnvelopeAt(definition, items[i], shared, now)
        const at = i++
        if (state.publishChain === undefined) {
          const job = new Job(envelope, undefined)
          const receipt = offerNow(state, job)
          if (receipt !== undefined) {
            receipts[at] = receipt
            continue
          }
        }
        return Effect.flatMap(admit(state, envelope, definition, undefined), (receipt) => {
          receipts[at] = receipt
          return loop()
        })
      }
      return wakeThen(state, receipts)
    }
    return loop()
  })

export const publishAndWait = <D extends Definition>(
  state: BusState,
  definition: D,
  payload: Payload<D>,
  opts?: PublishOptions
): Effect.Effect<PublishResult, PublishError> =>
  Effect.suspend(() => {
    const bad = invalid(definition, opts)
    if (bad !== undefined) return rejectedWith(state, bad)
    if (!accepts(state, false)) return closedError(state, definition.name)
    state.count(definition.name, 1)
    const envelope = makeEnvelope(state, definition, payload, opts)
    state.waiting++
    const tracker = new Tracker(envelope, state.waiterDone)
    return Effect.matchCauseEffect(admit(state, envelope, definition, tracker), {
      onFailure: (cause) => {
        tracker.cancel()
        return Effect.failCause(cause)
      },
      onSuccess: (receipt) => {
        if (receipt.status !== "accepted") tracker.end(receipt.status)
        return Deferred.await(tracker.deferred)
      }
    })
  })
