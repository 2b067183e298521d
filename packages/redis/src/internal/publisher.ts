/**
 * The publishing half. `publish` builds the envelope, encodes it with the
 * definition's Schema and puts it in a bounded buffer, then waits for its
 * entry id; `publishAll` puts a whole batch in and waits once for all of its
 * ids (one parked fiber per call, not per event: measured, resuming one
 * fiber per publish was 18% of the publisher's CPU). One writer fiber takes what has accumulated (up to
 * `publishBatch`) and appends it in one round trip: per stream, one `EVALSHA`
 * of a script running `XADD ... MAXLEN ~ n` for each entry, answering their
 * ids. Up to two batches are in flight, in order on the connection; while they
 * are, the next one accumulates, so batches follow the load with no added
 * delay: a lone publish is written at once.
 *
 * Bounds: at most `publishBuffer` publishes wait or are in flight; beyond
 * that `publish` fails at once with `PublishBufferFull`. A batch Redis refuses
 * or does not answer within `publishTimeout` fails each of its publishes with
 * `RedisUnavailable` (the connection has no offline queue, so while Redis is
 * down that is immediate). A publish interrupted before its batch was taken
 * is not written.
 */
import { Envelope, Errors, type Event, type Plugin } from "@eventfabric/core"
import { TraceContext, type Transport } from "@eventfabric/transport"
import { Cause, Clock, Duration, Effect, Exit, type Fiber, type Scope } from "effect"
import { type Redis, script } from "effect/persistence/Redis"
import { PublishBufferFull, RedisUnavailable, UnroutedEvent } from "../RedisErrors.ts"
import type { Resolved } from "../TransportOptions.ts"
import type { Codec } from "./codec.ts"
import { errorMessage } from "./redis.ts"
import type { Counters } from "./stats.ts"

export interface Published extends Transport.Published {
  /** The stream entry id (also in `position`). */
  readonly entryId: string
}

export type PublishError = RedisUnavailable | PublishBufferFull | UnroutedEvent | Errors.InvalidEvent

export interface Publisher {
  readonly publish: <D extends Event.Definition>(
    definition: D,
    payload: Event.Payload<D>,
    options?: Plugin.PublishOptions
  ) => Effect.Effect<Published, PublishError>
  readonly publishAll: <D extends Event.Definition>(
    definition: D,
    payloads: ReadonlyArray<Event.Payload<D>>,
    options?: Plugin.PublishOptions
  ) => Effect.Effect<ReadonlyArray<Published>, PublishError>
}

/** `XADD` of every text to one stream, in order; answers the entry ids. */
const xaddMany = script((stream: string, maxLen: string, texts: ReadonlyArray<string>) => [stream, maxLen, ...texts], {
  numberOfKeys: 1,
  lua: `
local ids = {}
for i = 2, #ARGV do
  ids[i - 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i])
end
return ids`
}).withReturnType<Array<string>>()

/** Batches in flight at once. */
const PIPELINE = 2

const WAITING = 0
const TAKEN = 1
const CANCELLED = 2

/** One publish call: its events answer together. */
interface Call {
  readonly results: Array<Published>
  remaining: number
  readonly resume: (effect: Effect.Effect<ReadonlyArray<Published>, PublishError>) => void
}

interface Pending {
  readonly stream: string
  readonly text: string
  readonly id: string
  readonly type: string
  readonly call: Call
  readonly index: number
  state: typeof WAITING | typeof TAKEN | typeof CANCELLED
}

const succeedOne = (call: Call, index: number, published: Published) => {
  if (call.remaining === 0) return
  call.results[index] = published
  if (--call.remaining === 0) call.resume(Effect.succeed(call.results))
}

const failCall = (call: Call, failure: Effect.Effect<never, PublishError>) => {
  if (call.remaining === 0) return
  call.remaining = 0
  call.resume(failure)
}

/** Builds `publish` and forks its writer into the scope; closing the scope fails what is left. */
export const make = Effect.fnUntraced(function* (
  redis: Redis["Service"],
  options: Resolved,
  codecs: ReadonlyMap<string, Codec>,
  counters: Counters
): Effect.fn.Return<Publisher, never, Scope.Scope> {
  const maxLen = String(options.maxLen)
  const timeout = Duration.toMillis(options.publishTimeout)
  const capacity = options.publishBuffer
  const maxBatch = options.publishBatch
  const xadd = redis.eval(xaddMany)

  const closedError = Effect.fail(new RedisUnavailable({ operation: "XADD", message: "the transport is closed" }))
  let buffer: Array<Pending> = []
  /** Batches written and not answered yet: at most `PIPELINE`. */
  const writing = new Set<ReadonlyArray<Pending>>()
  /** Publishes waiting or in flight, cancelled ones excluded: what the bound counts. */
  let outstanding = 0
  let closed = false
  let wake: ((effect: Effect.Effect<void>) => void) | undefined

  const take = (): Array<Pending> => {
    const batch: Array<Pending> = []
    let i = 0
    for (; i < buffer.length && batch.length < maxBatch; i++) {
      const p = buffer[i]!
      if (p.state !== WAITING) continue
      p.state = TAKEN
      batch.push(p)
    }
    buffer = i === buffer.length ? [] : buffer.slice(i)
    return batch
  }

  const settle = (items: ReadonlyArray<Pending>, exit: Exit.Exit<Array<string>, unknown>) => {
    outstanding -= items.length
    if (Exit.isSuccess(exit) && exit.value.length === items.length) {
      const ids = exit.value
      counters.published += items.length
      for (let i = 0; i < items.length; i++) {
        const p = items[i]!
        const entryId = String(ids[i])
        succeedOne(p.call, p.index, { id: p.id, type: p.type, entryId, position: entryId, duplicate: false })
      }
      return
    }
    const error = new RedisUnavailable({
      operation: "XADD",
      message: Exit.isSuccess(exit)
        ? `expected ${items.length} entry ids, got ${exit.value.length}`
        : errorMessage(Cause.squash(exit.cause))
    })
    const failed = Effect.fail(error)
    for (const p of items) failCall(p.call, failed)
  }

  const writeStream = (stream: string, items: ReadonlyArray<Pending>) =>
    xadd(
      stream,
      maxLen,
      items.map((p) => p.text)
    ).pipe(
      Effect.timeout(timeout),
      Effect.exit,
      Effect.map((exit) => settle(items, exit))
    )

  const write = (batch: ReadonlyArray<Pending>) => {
    const first = batch[0]!.stream
    if (batch.every((p) => p.stream === first)) return writeStream(first, batch)
    const byStream = new Map<string, Array<Pending>>()
    for (const p of batch) {
      const items = byStream.get(p.stream)
      if (items === undefined) byStream.set(p.stream, [p])
      else items.push(p)
    }
    return Effect.forEach(byStream, ([stream, items]) => writeStream(stream, items), {
      concurrency: "unbounded",
      discard: true
    })
  }

  const park = Effect.callback<void>((resume) => {
    wake = resume
  })
  const wakeWriter = () => {
    if (wake !== undefined) {
      const w = wake
      wake = undefined
      w(Effect.void)
    }
  }

  // Up to PIPELINE batches in flight on the connection, answered in order:
  // Redis runs the next one while this process settles the previous one.
  const writer = Effect.gen(function* () {
    while (true) {
      if (buffer.length === 0 || writing.size >= PIPELINE) {
        yield* park
        // Publishers already scheduled join this batch.
        yield* Effect.yieldNow
        continue
      }
      const batch = take()
      if (batch.length === 0) continue
      writing.add(batch)
      // Started at once, so its command is queued before the next batch's.
      yield* Effect.forkChild(
        Effect.onExit(write(batch), (exit) =>
          Effect.sync(() => {
            writing.delete(batch)
            // `write` settles its batch and never fails: a failure is the transport closing.
            if (Exit.isFailure(exit)) for (const p of batch) failCall(p.call, closedError)
            wakeWriter()
          })
        ),
        { startImmediately: true }
      )
    }
  })

  // Added before the writer's fork, so it runs after the writer was interrupted.
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      closed = true
      for (const batch of writing) for (const p of batch) failCall(p.call, closedError)
      for (const p of buffer) if (p.state === WAITING) failCall(p.call, closedError)
      buffer = []
      writing.clear()
      outstanding = 0
    })
  )
  yield* Effect.forkScoped(writer)

  const enqueue = (items: ReadonlyArray<Omit<Pending, "call" | "index" | "state">>) =>
    Effect.callback<ReadonlyArray<Published>, PublishError>((resume) => {
      const call: Call = { results: new Array(items.length), remaining: items.length, resume }
      const pending: Array<Pending> = []
      for (let i = 0; i < items.length; i++) {
        const p: Pending = { ...items[i]!, call, index: i, state: WAITING }
        pending.push(p)
        buffer.push(p)
      }
      outstanding += items.length
      // With the pipeline full, the next answer wakes the writer.
      if (writing.size < PIPELINE) wakeWriter()
      return Effect.sync(() => {
        for (const p of pending) {
          if (p.state === WAITING) {
            p.state = CANCELLED
            outstanding--
          }
        }
      })
    })

  const encode = (
    fiber: Fiber.Fiber<unknown, unknown>,
    codec: Codec,
    definition: Event.Definition,
    payload: unknown,
    opts: Plugin.PublishOptions | undefined,
    now: number
  ): Exit.Exit<Omit<Pending, "call" | "index" | "state">, Errors.InvalidEvent> => {
    const made = Envelope.make(definition, payload, opts, now)
    const envelope: Envelope.Envelope =
      made.traceparent === undefined ? { ...made, traceparent: TraceContext.traceparentOf(fiber.cache.span) } : made
    // Identity supplied by the caller (forwarding) is checked by the envelope Schema too.
    const text =
      opts?.id === undefined && opts?.publishedAt === undefined && opts?.attempt === undefined
        ? codec.encode(envelope)
        : codec.encodeChecked(envelope)
    if (Exit.isSuccess(text)) {
      return Exit.succeed({ stream: codec.stream, text: text.value, id: envelope.id, type: definition.name })
    }
    const reason = text.cause.reasons[0]
    return Exit.fail(
      new Errors.InvalidEvent({
        type: definition.name,
        message: reason?._tag === "Fail" ? reason.error : "invalid payload"
      })
    )
  }

  const publishAll: Publisher["publishAll"] = (definition, payloads, opts) =>
    Effect.withFiber((fiber) => {
      if (closed) return closedError
      const codec = codecs.get(definition.name)
      if (codec === undefined) return Effect.fail(new UnroutedEvent({ type: definition.name }))
      if (payloads.length === 0) return Effect.succeed([])
      if (opts?.id !== undefined && payloads.length > 1) {
        return Effect.fail(
          new Errors.InvalidEvent({ type: definition.name, message: `one id cannot name several events\n  at ["id"]` })
        )
      }
      const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      const items: Array<Omit<Pending, "call" | "index" | "state">> = []
      for (const payload of payloads) {
        const encoded = encode(fiber, codec, definition, payload, opts, now)
        if (Exit.isFailure(encoded)) return Effect.failCause(encoded.cause)
        items.push(encoded.value)
      }
      if (outstanding + items.length > capacity) return Effect.fail(new PublishBufferFull({ capacity }))
      return enqueue(items)
    })

  const publish: Publisher["publish"] = (definition, payload, opts) =>
    Effect.map(publishAll(definition, [payload], opts), (out) => out[0]!)

  return { publish, publishAll }
})
