/**
 * The consuming half: one process bound to its group's durable pull consumer.
 * Each message is published into the local bus with `publishAndWait` and
 * settled by `Transport.verdict` once every local delivery ended: `ack`;
 * `nak` with the redelivery backoff; nothing (interrupted: redelivered after
 * `ackWait`); undecodable → DLQ `DecodeFailed` + `term`; past
 * `maxDeliveries` → DLQ `MaxDeliveries` + `term`. While a handler runs,
 * in-progress signals every `ackWait / 3` keep the server from redelivering
 * the message under it.
 *
 * Bound: the server holds at most `maxInFlight` unacknowledged messages for
 * the group (`max_ack_pending`), so this process never has more in flight.
 */
import { Envelope, EventBus } from "@eventfabric/core"
import * as DeadLetterStore from "@eventfabric/plugins/DeadLetterStore"
import * as RetryLater from "@eventfabric/plugins/RetryLater"
import { Backoff, Transport } from "@eventfabric/transport"
import { AckPolicy, type ConsumerConfig, DeliverPolicy, type JsMsg } from "@nats-io/jetstream"
import { Clock, Duration, Effect, Exit, FiberSet, Schedule, type Scope } from "effect"
import type { NatsConnection } from "../NatsConnection.ts"
import { NatsUnavailableError, StreamMissingError } from "../NatsErrors.ts"
import type { Resolved } from "../NatsOptions.ts"
import { messageOf } from "./errors.ts"
import * as Loss from "./loss.ts"
import type { Route } from "./publisher.ts"

/** Headers set on the local envelope: transport facts, not identity (the envelope keeps its own). */
export const headers = {
  sequence: "eventfabric-nats-seq",
  deliveries: "eventfabric-nats-deliveries"
} as const

const nanos = (d: Duration.Duration) => Math.round(Duration.toMillis(d) * 1_000_000)

/** The consumer config of a group: what the durable is created with. */
export const consumerConfig = (
  options: Resolved & { readonly group: string },
  filter: string
): Partial<ConsumerConfig> => {
  const start = options.startFrom
  const policy =
    start === "first"
      ? { deliver_policy: DeliverPolicy.All }
      : start === "new"
        ? { deliver_policy: DeliverPolicy.New }
        : "sequence" in start
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.sequence }
          : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(start.time).toISOString() }
  return {
    durable_name: options.group,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(options.ackWait),
    // One delivery past maxDeliveries, handed straight to the DLQ: a consumer
    // that died on the last try leaves nothing behind silently.
    max_deliver: options.maxDeliveries + 1,
    max_ack_pending: options.maxInFlight,
    filter_subject: filter,
    ...policy
  }
}

const isNotFound = (error: unknown) => /not found/i.test(messageOf(error))

export const start = Effect.fnUntraced(function* (
  connection: NatsConnection["Service"],
  options: Resolved & { readonly group: string },
  routes: ReadonlyArray<Route>,
  filter: string,
  counters: Transport.Counters,
  ensureStream: Effect.Effect<void, NatsUnavailableError | StreamMissingError>
): Effect.fn.Return<
  void,
  NatsUnavailableError | StreamMissingError,
  Scope.Scope | EventBus.EventBus | DeadLetterStore.DeadLetterStore
> {
  const bus = yield* EventBus.EventBus
  const dlq = yield* DeadLetterStore.DeadLetterStore
  const { stream, group, maxDeliveries } = options
  const bySubject = new Map(routes.map((r) => [r.subject, r]))

  const ensureDurable = async () => {
    try {
      await connection.jsm.consumers.info(stream, group)
    } catch (error) {
      if (!isNotFound(error)) throw error
      await connection.jsm.consumers.add(stream, consumerConfig(options, filter))
    }
  }
  const ensure = Effect.tryPromise({
    try: async () => {
      await ensureDurable()
      return await connection.js.consumers.get(stream, group)
    },
    catch: (error) =>
      /stream not found/i.test(messageOf(error))
        ? new StreamMissingError({ stream, message: messageOf(error) })
        : new NatsUnavailableError({ operation: "consumer", message: messageOf(error) })
  })
  const consumer = yield* ensure

  const fibers = yield* FiberSet.make<void, never>()
  const run = yield* FiberSet.runtime(fibers)<never>()
  /** Messages being handled: the in-progress ticker walks them. */
  const inFlight = new Set<JsMsg>()

  const settle = (m: JsMsg, verdict: "ack" | "term", reason?: string) => {
    if (verdict === "ack") m.ack()
    else m.term(reason)
    counters.acknowledged++
  }

  const deadLetter = (
    m: JsMsg,
    envelope: Envelope.Envelope,
    reason: DeadLetterStore.Reason,
    cause: string,
    deliveries: number
  ) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* dlq.put({
        id: `${stream}:${m.seq}`,
        envelope: { ...envelope, attempt: Math.max(1, envelope.attempt + deliveries - 1) },
        subscription: `nats:${group}`,
        reason,
        cause,
        attempts: deliveries,
        firstFailureAt: now,
        lastFailureAt: now
      })
      counters.deadLettered++
      if (reason === "DecodeFailed") counters.decodeFailed++
      settle(m, "term", `${reason}: ${cause}`.slice(0, 256))
    }).pipe(
      // Not stored: not settled either; back after the redelivery delay.
      Effect.catch((error) =>
        Effect.andThen(
          Effect.sync(() => m.nak(Duration.toMillis(Backoff.delay(options.redelivery, deliveries)))),
          Effect.logError(`dead-lettering ${stream} ${m.seq} failed: ${error.message}`)
        )
      )
    )

  const rawEnvelope = (m: JsMsg, route: Route, text: string, now: number): Envelope.Envelope => ({
    id: `nats:${stream}:${m.seq}`,
    type: route.codec.definition.name,
    payload: text,
    priority: route.codec.definition.priority,
    publishedAt: now,
    attempt: 1,
    headers: { [headers.sequence]: String(m.seq) }
  })

  const deliver = (m: JsMsg, route: Route, envelope: Envelope.Envelope, deliveries: number) =>
    Effect.flatMap(
      Effect.exit(
        bus.publishAndWait(route.codec.definition, envelope.payload, {
          ...Envelope.identity(envelope),
          attempt: Math.max(1, envelope.attempt + deliveries - 1),
          headers: {
            ...envelope.headers,
            [headers.sequence]: String(m.seq),
            [headers.deliveries]: String(deliveries),
            [RetryLater.header]: String(deliveries) // [schedule] Retry defers to nak(delay) (RetryLater.ts)
          }
        })
      ),
      (exit): Effect.Effect<void> => {
        const verdict = Transport.verdict(exit)
        switch (verdict._tag) {
          case "ack":
            settle(m, "ack")
            return Effect.void
          case "nack":
            counters.redelivered++
            // [schedule] verdict.delay: what Retry asked for (RetryLater.ts)
            m.nak(Duration.toMillis(verdict.delay ?? Backoff.delay(options.redelivery, deliveries)))
            return Effect.void
          case "retain":
            return Effect.void
          case "decodeFailed":
            return deadLetter(m, envelope, "DecodeFailed", verdict.message, deliveries)
        }
      }
    )

  /** What to do with one message; `undefined` when settled already. */
  const plan = (m: JsMsg): Effect.Effect<void> | undefined => {
    const route = bySubject.get(m.subject)
    if (route === undefined) {
      // Captured by the filter, consumed by nobody here (several patterns share one filter).
      settle(m, "ack")
      return undefined
    }
    const deliveries = m.info.deliveryCount
    const text = m.string()
    const decoded = route.codec.decode(text)
    if (Exit.isFailure(decoded)) {
      const reason = decoded.cause.reasons[0]
      const message = reason?._tag === "Fail" ? reason.error : "undecodable message"
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        deadLetter(m, rawEnvelope(m, route, text, now), "DecodeFailed", message, deliveries)
      )
    }
    if (deliveries > maxDeliveries) {
      return deadLetter(
        m,
        decoded.value,
        "MaxDeliveries",
        `delivered ${deliveries} times without acknowledgement (maxDeliveries ${maxDeliveries})`,
        deliveries
      )
    }
    return deliver(m, route, decoded.value, deliveries)
  }

  const onMessage = (m: JsMsg) => {
    counters.received++
    const effect = plan(m)
    if (effect === undefined) return
    inFlight.add(m)
    counters.inFlight++
    run(effect).addObserver((exit) => {
      inFlight.delete(m)
      counters.inFlight--
      if (exit._tag === "Failure")
        run(Effect.logError(`handling ${stream} ${m.seq} failed; left to redelivery`, exit.cause))
    })
  }

  const consume = () => consumer.consume({ max_messages: Math.min(options.maxInFlight, 512), callback: onMessage })
  let messages = yield* Effect.tryPromise({
    try: consume,
    catch: (error) => new NatsUnavailableError({ operation: "consume", message: messageOf(error) })
  })

  const checkLoss = Loss.make(
    connection,
    stream,
    group,
    counters,
    bus,
    Effect.andThen(
      ensureStream,
      // The pull in flight targeted the consumer that vanished: pull again now rather than after heartbeats are missed.
      Effect.tryPromise(async () => {
        await ensureDurable()
        messages.stop()
        messages = await consume()
      })
    )
  )

  // Long handlers: tell the server they are still at it, so it does not redeliver under them.
  const tick = Duration.millis(Math.max(10, Duration.toMillis(options.ackWait) / 3))
  yield* Effect.forkScoped(
    Effect.repeat(
      Effect.andThen(
        Effect.sync(() => {
          for (const m of inFlight) m.working()
        }),
        checkLoss
      ),
      Schedule.spaced(tick)
    )
  )
  // Shutdown (finalizers run in reverse): stop pulling first, then let what is
  // in flight end within the grace; the rest is redelivered after ackWait.
  yield* Effect.addFinalizer(() =>
    Effect.andThen(
      Effect.sync(() => messages.stop()),
      Effect.timeoutOption(FiberSet.awaitEmpty(fibers), options.shutdownGrace)
    )
  )
})
