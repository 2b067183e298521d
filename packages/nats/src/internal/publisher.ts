/**
 * The publishing half: each publish is one JetStream publish with the
 * envelope id as `Nats-Msg-Id` (stored once inside the duplicate window),
 * answered when the stream acknowledged it. `publishAll` sends a batch
 * without waiting between messages and answers once every ack is in.
 *
 * Bound: at most `publishBuffer` publishes wait for their ack; one more fails
 * at once with `PublishBufferFullError`, nothing sent.
 */
import { Envelope, Errors, type Event, type Plugin } from "@eventfabric/core"
import { type Codec, TraceContext, type Transport } from "@eventfabric/transport"
import type { PubAck } from "@nats-io/jetstream"
import { Clock, Duration, Effect, Exit, type Fiber } from "effect"
import type { NatsConnection } from "../NatsConnection.ts"
import {
  type NatsUnavailableError,
  PublishBufferFullError,
  type PublishNotAcknowledgedError,
  type StreamMissingError,
  UnroutedEventError
} from "../NatsErrors.ts"
import type { Resolved } from "../NatsOptions.ts"
import { publishError } from "./errors.ts"

export interface Route {
  readonly codec: Codec.Codec
  readonly subject: string
}

export type PublishError =
  | NatsUnavailableError
  | StreamMissingError
  | PublishNotAcknowledgedError
  | PublishBufferFullError
  | UnroutedEventError
  | Errors.InvalidEvent

export interface Publisher {
  readonly publish: <D extends Event.Definition>(
    definition: D,
    payload: Event.Payload<D>,
    options?: Plugin.PublishOptions
  ) => Effect.Effect<Transport.Published, PublishError>
  readonly publishAll: <D extends Event.Definition>(
    definition: D,
    payloads: ReadonlyArray<Event.Payload<D>>,
    options?: Plugin.PublishOptions
  ) => Effect.Effect<ReadonlyArray<Transport.Published>, PublishError>
}

interface Encoded {
  readonly id: string
  readonly text: string
}

export const make = (
  connection: NatsConnection["Service"],
  options: Resolved,
  routes: ReadonlyMap<string, Route>,
  counters: Transport.Counters
): Publisher => {
  const timeout = Duration.toMillis(options.publishTimeout)
  const capacity = options.publishBuffer
  let outstanding = 0

  const encode = (
    fiber: Fiber.Fiber<unknown, unknown>,
    route: Route,
    definition: Event.Definition,
    payload: unknown,
    opts: Plugin.PublishOptions | undefined,
    now: number
  ): Exit.Exit<Encoded, Errors.InvalidEvent> => {
    const made = Envelope.make(definition, payload, opts, now)
    const envelope: Envelope.Envelope =
      made.traceparent === undefined ? { ...made, traceparent: TraceContext.traceparentOf(fiber.cache.span) } : made
    const text =
      opts?.id === undefined && opts?.publishedAt === undefined && opts?.attempt === undefined
        ? route.codec.encode(envelope)
        : route.codec.encodeChecked(envelope)
    if (Exit.isSuccess(text)) return Exit.succeed({ id: envelope.id, text: text.value })
    const reason = text.cause.reasons[0]
    return Exit.fail(
      new Errors.InvalidEvent({
        type: definition.name,
        message: reason?._tag === "Fail" ? reason.error : "invalid payload"
      })
    )
  }

  const send = (route: Route, type: string, items: ReadonlyArray<Encoded>) =>
    Effect.callback<ReadonlyArray<Transport.Published>, PublishError>((resume) => {
      outstanding += items.length
      const acks: Array<Promise<PubAck>> = items.map((item) =>
        connection.js.publish(route.subject, item.text, { msgID: item.id, timeout })
      )
      Promise.all(acks).then(
        (answers) => {
          outstanding -= items.length
          const out = answers.map((ack, i): Transport.Published => {
            if (ack.duplicate) counters.duplicates++
            else counters.published++
            return { id: items[i]!.id, type, position: String(ack.seq), duplicate: ack.duplicate }
          })
          resume(Effect.succeed(out))
        },
        (error) => {
          outstanding -= items.length
          // Settle the others too, so none is left counted as outstanding.
          for (const a of acks) a.catch(() => {})
          resume(Effect.fail(publishError(options.stream, type)(error)))
        }
      )
    })

  const publishAll: Publisher["publishAll"] = (definition, payloads, opts) =>
    Effect.withFiber((fiber) => {
      const route = routes.get(definition.name)
      if (route === undefined) return Effect.fail(new UnroutedEventError({ type: definition.name }))
      if (payloads.length === 0) return Effect.succeed([])
      if (opts?.id !== undefined && payloads.length > 1) {
        return Effect.fail(
          new Errors.InvalidEvent({ type: definition.name, message: 'one id cannot name several events\n  at ["id"]' })
        )
      }
      const now = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      const items: Array<Encoded> = []
      for (const payload of payloads) {
        const encoded = encode(fiber, route, definition, payload, opts, now)
        if (Exit.isFailure(encoded)) return Effect.failCause(encoded.cause)
        items.push(encoded.value)
      }
      if (outstanding + items.length > capacity) return Effect.fail(new PublishBufferFullError({ capacity }))
      return send(route, definition.name, items)
    })

  const publish: Publisher["publish"] = (definition, payload, opts) =>
    Effect.map(publishAll(definition, [payload], opts), (out) => out[0]!)

  return { publish, publishAll }
}
