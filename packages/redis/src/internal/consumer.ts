/**
 * The consuming half: one consumer in a group, reading every consumed stream
 * with a blocking `XREADGROUP` on a dedicated connection, publishing each entry
 * into the local bus with `publishAndWait`, and acknowledging (`XACK`, batched)
 * only once every local delivery ended. Entries idle past `claimIdle` are taken
 * over with `XAUTOCLAIM`; past `maxDeliveries`, or undecodable, they go to the
 * dead-letter store and are acknowledged.
 */
import { type Envelope, EventBus } from "@eventfabric/core"
import { DeadLetterStore } from "@eventfabric/plugins"
import { Cause, Clock, Duration, Effect, Exit, FiberSet, Queue, type Scope, Semaphore } from "effect"
import type { Redis } from "effect/persistence/Redis"
import type { RedisUnavailable } from "../RedisErrors.ts"
import type { Resolved } from "../TransportOptions.ts"
import { delay, retryForever } from "./backoff.ts"
import type { Codec } from "./codec.ts"
import * as Dedup from "./dedup.ts"
import { errorMessage, field, parseAutoclaim, parseRead, type StreamEntry, unavailable } from "./redis.ts"
import type { Counters } from "./stats.ts"

/** Headers set on the local envelope, naming the Redis original. */
export const headers = {
  originId: "eventfabric-origin-id",
  originPublishedAt: "eventfabric-origin-published-at",
  entryId: "eventfabric-redis-entry",
  deliveries: "eventfabric-redis-deliveries"
} as const

const entryKey = (entry: StreamEntry) => `${entry.stream}\u0000${entry.id}`

export const start = Effect.fnUntraced(function* (
  redis: Redis["Service"],
  options: Resolved & { readonly group: string },
  codecs: ReadonlyArray<Codec>,
  counters: Counters
): Effect.fn.Return<void, RedisUnavailable, Scope.Scope | EventBus.EventBus | DeadLetterStore.DeadLetterStore> {
  const bus = yield* EventBus.EventBus
  const dlq = yield* DeadLetterStore.DeadLetterStore
  const { group, consumer, maxDeliveries } = options
  const byStream = new Map(codecs.map((c) => [c.stream, c]))
  const keys = codecs.map((c) => c.stream)
  const readCount = Math.min(options.readCount, options.maxInFlight)
  const claimIdleMs = Math.max(1, Math.round(Duration.toMillis(options.claimIdle)))
  const dedup =
    options.dedup === undefined
      ? undefined
      : Dedup.make(redis, {
          keyPrefix: `${options.prefix}:dedup:${group}`,
          owner: consumer,
          leaseMs: claimIdleMs,
          windowMs: Duration.toMillis(options.dedup.window)
        })

  const ensureGroups = Effect.forEach(
    keys,
    (key) =>
      redis.send("XGROUP", "CREATE", key, group, options.startFrom === "earliest" ? "0" : "$", "MKSTREAM").pipe(
        Effect.catchIf(
          (e) => errorMessage(e).includes("BUSYGROUP"),
          () => Effect.void
        )
      ),
    { discard: true }
  ).pipe(Effect.mapError(unavailable("XGROUP CREATE")))
  yield* ensureGroups

  const permits = yield* Semaphore.make(options.maxInFlight)
  const fibers = yield* FiberSet.make<void, never>()
  const acks = yield* Queue.unbounded<StreamEntry>()
  const inFlight = new Set<string>()
  let unflushed = 0

  const ack = (entry: StreamEntry) => {
    unflushed++
    Queue.offerUnsafe(acks, entry)
  }

  // ---- dead letters -----------------------------------------------------

  const deadLetter = (
    entry: StreamEntry,
    envelope: Envelope.Envelope,
    reason: DeadLetterStore.Reason,
    cause: string,
    deliveries: number
  ) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* dlq.put({
        id: `${entry.stream}:${entry.id}`,
        envelope: { ...envelope, attempt: Math.max(1, deliveries) },
        subscription: `redis:${group}`,
        reason,
        cause,
        attempts: deliveries,
        firstFailureAt: now,
        lastFailureAt: now
      })
      counters.deadLettered++
      if (reason === "DecodeFailed") counters.decodeFailed++
      ack(entry)
    }).pipe(
      // Not stored: not acknowledged either; the entry is claimed again later.
      Effect.catch((error) => Effect.logError(`dead-lettering ${entry.stream} ${entry.id} failed: ${error.message}`))
    )

  const rawEnvelope = (entry: StreamEntry, codec: Codec, raw: unknown, now: number): Envelope.Envelope => ({
    id: `redis:${entry.id}`,
    type: codec.definition.name,
    payload: raw ?? null,
    priority: codec.definition.priority,
    publishedAt: now,
    attempt: 1,
    headers: { [headers.entryId]: entry.id, "eventfabric-redis-stream": entry.stream }
  })

  // ---- one entry --------------------------------------------------------

  const handle = (entry: StreamEntry, deliveries: number): Effect.Effect<void> =>
    Effect.gen(function* () {
      const codec = byStream.get(entry.stream)!
      if (entry.fields === null) return ack(entry)
      const text = field(entry.fields, "e")
      const decoded = text === undefined ? Exit.fail(`entry has no field "e"`) : codec.decode(text)
      if (Exit.isFailure(decoded)) {
        const now = yield* Clock.currentTimeMillis
        const reason = decoded.cause.reasons[0]
        const message = reason?._tag === "Fail" ? reason.error : "undecodable entry"
        return yield* deadLetter(
          entry,
          rawEnvelope(entry, codec, text ?? entry.fields, now),
          "DecodeFailed",
          message,
          deliveries
        )
      }
      const envelope = decoded.value
      if (deliveries > maxDeliveries) {
        // TODO(core): a `MaxDeliveries` reason; until then the closest one.
        return yield* deadLetter(
          entry,
          envelope,
          "HandlerError",
          `delivered ${deliveries} times without acknowledgement (maxDeliveries ${maxDeliveries})`,
          deliveries
        )
      }
      if (dedup !== undefined) {
        // A Redis hiccup here must not lose the event: handle it (at least once).
        const verdict = yield* dedup.lease(envelope.id).pipe(Effect.orElseSucceed(() => "Handle" as const))
        if (verdict === "Duplicate") {
          counters.deduplicated++
          return ack(entry)
        }
        if (verdict === "Busy") return
      }
      const result = yield* Effect.result(
        bus.publishAndWait(codec.definition, envelope.payload, {
          source: envelope.source,
          correlationId: envelope.correlationId,
          causationId: envelope.causationId,
          traceparent: envelope.traceparent,
          priority: envelope.priority,
          headers: {
            ...envelope.headers,
            [headers.originId]: envelope.id,
            [headers.originPublishedAt]: String(envelope.publishedAt),
            [headers.entryId]: entry.id,
            [headers.deliveries]: String(deliveries)
          }
        })
      )
      if (result._tag === "Failure") {
        const error = result.failure
        if (error._tag === "InvalidEvent") {
          return yield* deadLetter(entry, envelope, "DecodeFailed", error.message, deliveries)
        }
        return // bus closed or lane full: stays pending, redelivered after claimIdle
      }
      const outcome = result.success
      if (outcome.status === "interrupted" || outcome.deliveries.some((d) => d.status === "interrupted")) return
      if (dedup !== undefined) yield* Effect.ignore(dedup.done(envelope.id))
      ack(entry)
    }).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.void
          : Effect.logError(`handling ${entry.stream} ${entry.id} failed; left pending`, cause)
      )
    )

  const dispatch = (entries: ReadonlyArray<StreamEntry>, deliveries: ReadonlyArray<number>) =>
    Effect.gen(function* () {
      yield* permits.take(entries.length)
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!
        const key = entryKey(entry)
        if (inFlight.has(key)) {
          yield* permits.release(1)
          continue
        }
        inFlight.add(key)
        counters.inFlight++
        yield* FiberSet.run(
          fibers,
          Effect.ensuring(
            handle(entry, deliveries[i] ?? 1),
            Effect.suspend(() => {
              inFlight.delete(key)
              counters.inFlight--
              return permits.release(1)
            })
          )
        )
      }
    })

  // ---- reading ----------------------------------------------------------

  const readArgs = [
    "GROUP",
    group,
    consumer,
    "COUNT",
    String(readCount),
    "BLOCK",
    String(Math.max(1, Math.round(Duration.toMillis(options.block)))),
    "STREAMS",
    ...keys,
    ...keys.map(() => ">")
  ]
  const ones = Array.from({ length: readCount }, () => 1)

  let failures = 0
  const session = Effect.scoped(
    Effect.gen(function* () {
      const connection = yield* redis.reserve
      while (true) {
        const entries = parseRead(yield* connection.send("XREADGROUP", ...readArgs))
        failures = 0
        if (entries.length === 0) continue
        counters.received += entries.length
        yield* dispatch(entries, ones)
      }
    })
  )

  const reader = Effect.gen(function* () {
    while (true) {
      const exit = yield* Effect.exit(session)
      if (exit._tag === "Success") continue
      failures++
      counters.reconnects++
      const wait = delay(options.reconnect, failures)
      const reason = exit.cause.reasons[0]
      yield* Effect.logWarning(
        `redis read failed (${reason?._tag === "Fail" ? errorMessage(reason.error) : "defect"}); reconnecting in ${Duration.format(
          wait
        )}`
      )
      yield* Effect.sleep(wait)
      // A restarted Redis without persistence lost the groups: make them again.
      yield* Effect.ignore(ensureGroups)
    }
  })

  // ---- claiming ---------------------------------------------------------

  const claimStream = (key: string) =>
    Effect.gen(function* () {
      let cursor = "0-0"
      for (let round = 0; round < 16; round++) {
        const reply = yield* redis.send(
          "XAUTOCLAIM",
          key,
          group,
          consumer,
          String(claimIdleMs),
          cursor,
          "COUNT",
          String(readCount)
        )
        const page = parseAutoclaim(key, reply)
        const fresh = page.entries.filter((e) => !inFlight.has(entryKey(e)))
        if (fresh.length > 0) {
          const pending = yield* Effect.forEach(
            fresh,
            (e) => redis.send<Array<[string, string, number, number]>>("XPENDING", key, group, e.id, e.id, "1"),
            { concurrency: "unbounded" }
          )
          counters.claimed += fresh.length
          yield* dispatch(
            fresh,
            pending.map((p) => Number(p[0]?.[3] ?? 1))
          )
        }
        if (page.cursor === "0-0") return
        cursor = page.cursor
      }
    })

  const claimer = Effect.forever(
    Effect.sleep(options.claimInterval).pipe(
      Effect.andThen(Effect.forEach(keys, claimStream, { discard: true })),
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.logWarning("XAUTOCLAIM failed", cause)
      )
    )
  )

  // ---- acknowledging ----------------------------------------------------

  const flush = (batch: ReadonlyArray<StreamEntry>) => {
    const byKey = new Map<string, Array<string>>()
    for (const e of batch) {
      const ids = byKey.get(e.stream)
      if (ids === undefined) byKey.set(e.stream, [e.id])
      else ids.push(e.id)
    }
    return Effect.forEach(
      byKey,
      ([key, ids]) =>
        Effect.map(redis.send("XACK", key, group, ...ids), () => {
          counters.acknowledged += ids.length
        }),
      { concurrency: "unbounded", discard: true }
    )
  }

  const flusher = Effect.forever(
    Effect.gen(function* () {
      const batch = yield* Queue.takeBetween(acks, 1, 4096)
      yield* retryForever(flush(batch), "XACK", options.reconnect)
      unflushed -= batch.length
    })
  )

  const settled = Effect.gen(function* () {
    yield* FiberSet.awaitEmpty(fibers)
    while (unflushed > 0) yield* Effect.sleep(Duration.millis(5))
  })

  yield* Effect.forkScoped(flusher)
  // Shutdown: stop reading (the forks below end first), let the entries in
  // flight end and their acks reach Redis within the grace; what is left stays
  // pending and is claimed by another consumer.
  yield* Effect.addFinalizer(() => Effect.timeoutOption(settled, options.shutdownGrace))
  yield* Effect.forkScoped(reader)
  yield* Effect.forkScoped(claimer)
})
