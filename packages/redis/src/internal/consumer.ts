/**
 * The consuming half: one consumer in a group, reading every consumed stream
 * with a blocking `XREADGROUP` on a dedicated connection, publishing each entry
 * into the local bus with `publishAndWait`, and acknowledging (`XACK`, batched)
 * only once every local delivery ended. Entries idle past `claimIdle` are taken
 * over with `XAUTOCLAIM`; past `maxDeliveries`, or undecodable, they go to the
 * dead-letter store and are acknowledged.
 */
import { Envelope, type Errors, EventBus } from "@eventfabric/core"
import * as DeadLetterStore from "@eventfabric/plugins/DeadLetterStore"
import * as RetryLater from "@eventfabric/plugins/RetryLater"
import { Backoff, Transport } from "@eventfabric/transport"
import { Cause, Clock, Duration, Effect, Exit, FiberSet, Latch, Queue, type Scope } from "effect"
import type { Redis } from "effect/persistence/Redis"
import type { RedisUnavailable } from "../RedisErrors.ts"
import type { Resolved } from "../TransportOptions.ts"
import { retryForever } from "./backoff.ts"
import type { Codec } from "./codec.ts"
import * as Dedup from "./dedup.ts"
import * as Loss from "./loss.ts"
import { errorMessage, field, parseAutoclaim, parseRead, type StreamEntry, unavailable } from "./redis.ts"
import type { Counters } from "./stats.ts"

/** Headers set on the local envelope: transport facts, not identity (the envelope keeps its own). */
export const headers = {
  entryId: "eventfabric-redis-entry",
  deliveries: "eventfabric-redis-deliveries"
} as const

/** `attempt` starts at the published one and advances with each redelivery. */
const attemptOf = (envelope: Envelope.Envelope, deliveries: number) => Math.max(1, envelope.attempt + deliveries - 1)

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
  const loss = Loss.make(redis, keys, group, counters, bus)
  yield* Effect.ignore(loss.remember)
  /** Loss found: report it, then make the groups again so consuming goes on. */
  const checkLoss = Effect.flatMap(
    Effect.orElseSucceed(loss.check, () => false),
    (lost) => (lost ? Effect.ignore(ensureGroups) : Effect.void)
  )

  const maxInFlight = options.maxInFlight
  const fibers = yield* FiberSet.make<void, never>()
  // Forks an entry's fiber from plain code: no Effect step per entry.
  const run = yield* FiberSet.runtime(fibers)<never>()
  // Bounded in effect: an entry is acked once, only after it was read, and no
  // more than maxInFlight entries are read ahead of their handling; while
  // XACK cannot reach Redis, neither can XREADGROUP, so nothing new arrives.
  const acks = yield* Queue.unbounded<StreamEntry>()
  /** Entry ids being handled, per stream: a claimed entry already in flight is not started twice. */
  const inFlight = new Map(keys.map((key) => [key, new Set<string>()]))
  const isInFlight = (entry: StreamEntry) => inFlight.get(entry.stream)!.has(entry.id)
  let unflushed = 0

  // ---- room: at most maxInFlight entries handled at once ------------------

  const room = Latch.makeUnsafe(true)
  /** Entries the reader or the claimer waits room for (0: nobody waits). */
  let needed = 0
  const release = () => {
    counters.inFlight--
    if (needed > 0 && counters.inFlight + needed <= maxInFlight) {
      needed = 0
      room.openUnsafe()
    }
  }
  const waitRoom = (n: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (counters.inFlight + n <= maxInFlight) return Effect.void
      room.closeUnsafe()
      needed = needed === 0 ? n : Math.min(needed, n)
      return Effect.andThen(room.await, waitRoom(n))
    })

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
        envelope: { ...envelope, attempt: attemptOf(envelope, deliveries) },
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

  /** After the local deliveries of `envelope` ended: acknowledge, unless one was interrupted. */
  const delivered = (
    entry: StreamEntry,
    envelope: Envelope.Envelope,
    deliveries: number,
    exit: Exit.Exit<EventBus.PublishResult, Errors.PublishError>
  ): Effect.Effect<void> => {
    const verdict = Transport.verdict(exit)
    switch (verdict._tag) {
      case "decodeFailed":
        return deadLetter(entry, envelope, "DecodeFailed", verdict.message, deliveries)
      case "retain":
        // bus closed, lane full or interrupted: stays pending, redelivered after claimIdle
        return Effect.void
      case "nack":
        counters.redelivered++
        return nack(entry, deliveries, verdict.delay) // [schedule] Retry's delay (RetryLater.ts)
      case "ack":
        if (dedup !== undefined) {
          return Effect.andThen(
            Effect.ignore(dedup.done(envelope.id)),
            Effect.sync(() => ack(entry))
          )
        }
        ack(entry)
        return Effect.void
    }
  }

  /**
   * Hands an entry back: it stays pending, its idle time set so that the
   * claimer takes it again after the redelivery backoff rather than after the
   * whole `claimIdle` (`XCLAIM ... IDLE ... JUSTID` keeps its delivery count).
   */
  const nack = (entry: StreamEntry, deliveries: number, delay?: Duration.Duration) => {
    const wait = Duration.toMillis(delay ?? Backoff.delay(options.redelivery, deliveries))
    const idle = String(Math.max(0, claimIdleMs - Math.round(wait)))
    return redis.send("XCLAIM", entry.stream, group, consumer, "0", entry.id, "IDLE", idle, "JUSTID").pipe(
      Effect.asVoid,
      // Not reached: it stays pending anyway and comes back after claimIdle.
      Effect.ignore
    )
  }

  const deliver = (entry: StreamEntry, codec: Codec, envelope: Envelope.Envelope, deliveries: number) =>
    Effect.flatMap(
      Effect.exit(
        bus.publishAndWait(codec.definition, envelope.payload, {
          ...Envelope.identity(envelope),
          attempt: attemptOf(envelope, deliveries),
          headers: {
            ...envelope.headers,
            [headers.entryId]: entry.id,
            [headers.deliveries]: String(deliveries),
            [RetryLater.header]: String(deliveries) // [schedule] Retry defers to a delayed XCLAIM (RetryLater.ts)
          }
        })
      ),
      (exit) => delivered(entry, envelope, deliveries, exit)
    )

  /** With dedup: take the lease first; a duplicate is acknowledged, a busy one left pending. */
  const deliverOnce = (entry: StreamEntry, codec: Codec, envelope: Envelope.Envelope, deliveries: number) =>
    Effect.flatMap(
      // A Redis hiccup here must not lose the event: handle it (at least once).
      dedup!.lease(envelope.id).pipe(Effect.orElseSucceed(() => "Handle" as const)),
      (verdict): Effect.Effect<void> => {
        if (verdict === "Duplicate") {
          counters.deduplicated++
          ack(entry)
          return Effect.void
        }
        return verdict === "Busy" ? Effect.void : deliver(entry, codec, envelope, deliveries)
      }
    )

  /**
   * What to do with one entry: decoded here, synchronously; `undefined` when
   * it was settled already (a trimmed entry, acknowledged).
   */
  const plan = (entry: StreamEntry, deliveries: number): Effect.Effect<void> | undefined => {
    const codec = byStream.get(entry.stream)!
    if (entry.fields === null) {
      ack(entry)
      return undefined
    }
    const text = field(entry.fields, "e")
    const decoded = text === undefined ? Exit.fail(`entry has no field "e"`) : codec.decode(text)
    if (Exit.isFailure(decoded)) {
      const reason = decoded.cause.reasons[0]
      const message = reason?._tag === "Fail" ? reason.error : "undecodable entry"
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        deadLetter(entry, rawEnvelope(entry, codec, text ?? entry.fields, now), "DecodeFailed", message, deliveries)
      )
    }
    const envelope = decoded.value
    if (deliveries > maxDeliveries) {
      return deadLetter(
        entry,
        envelope,
        "MaxDeliveries",
        `delivered ${deliveries} times without acknowledgement (maxDeliveries ${maxDeliveries})`,
        deliveries
      )
    }
    return dedup === undefined
      ? deliver(entry, codec, envelope, deliveries)
      : deliverOnce(entry, codec, envelope, deliveries)
  }

  const logDefect = (entry: StreamEntry, exit: Exit.Exit<void>) => {
    if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
      run(Effect.logError(`handling ${entry.stream} ${entry.id} failed; left pending`, exit.cause))
    }
  }

  /** Starts every entry not already in flight; the caller made room for all of them. */
  const dispatch = (entries: ReadonlyArray<StreamEntry>, deliveries: ReadonlyArray<number> | number) => {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      const ids = inFlight.get(entry.stream)!
      if (ids.has(entry.id)) continue
      const effect = plan(entry, typeof deliveries === "number" ? deliveries : (deliveries[i] ?? 1))
      if (effect === undefined) continue
      ids.add(entry.id)
      counters.inFlight++
      run(effect).addObserver((exit) => {
        ids.delete(entry.id)
        release()
        // A defect: logged; the entry stays pending and is claimed again.
        if (exit._tag === "Failure") logDefect(entry, exit)
      })
    }
  }

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

  let failures = 0
  const session = Effect.scoped(
    Effect.gen(function* () {
      const connection = yield* redis.reserve
      while (true) {
        yield* waitRoom(readCount)
        const entries = parseRead(yield* connection.send("XREADGROUP", ...readArgs))
        failures = 0
        if (entries.length === 0) continue
        counters.received += entries.length
        yield* waitRoom(entries.length) // the claimer may have taken room meanwhile
        dispatch(entries, 1)
      }
    })
  )

  const reader = Effect.gen(function* () {
    while (true) {
      const exit = yield* Effect.exit(session)
      if (exit._tag === "Success") continue
      failures++
      counters.reconnects++
      const wait = Backoff.delay(options.reconnect, failures)
      const reason = exit.cause.reasons[0]
      yield* Effect.logWarning(
        `redis read failed (${reason?._tag === "Fail" ? errorMessage(reason.error) : "defect"}); reconnecting in ${Duration.format(
          wait
        )}`
      )
      yield* Effect.sleep(wait)
      // A restarted Redis without persistence lost the groups: report it, make them again.
      yield* checkLoss
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
        const fresh = page.entries.filter((e) => !isInFlight(e))
        if (fresh.length > 0) {
          const pending = yield* Effect.forEach(
            fresh,
            (e) => redis.send<Array<[string, string, number, number]>>("XPENDING", key, group, e.id, e.id, "1"),
            { concurrency: "unbounded" }
          )
          counters.claimed += fresh.length
          yield* waitRoom(fresh.length)
          dispatch(
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
      Effect.andThen(checkLoss),
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
