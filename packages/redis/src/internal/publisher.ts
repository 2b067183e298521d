/**
 * The publishing half: envelope built, encoded by the definition's Schema,
 * appended with `XADD ... MAXLEN ~ n`.
 */
import { Errors, type Event, type Plugin } from "@eventfabric/core"
import { Duration, Effect, Exit, Option } from "effect"
import type { Redis } from "effect/persistence/Redis"
import { type RedisUnavailable, UnroutedEvent } from "../RedisErrors.ts"
import type { Resolved } from "../TransportOptions.ts"
import type { Codec } from "./codec.ts"
import { uuidv7 } from "./id.ts"
import { unavailable } from "./redis.ts"
import type { Counters } from "./stats.ts"

export interface Published {
  readonly id: string
  readonly type: string
  readonly entryId: string
}

export type PublishError = RedisUnavailable | UnroutedEvent | Errors.InvalidEvent

const HEX_TRACE = /^[0-9a-f]{32}$/
const HEX_SPAN = /^[0-9a-f]{16}$/

/** W3C traceparent of the current span, when it has W3C-shaped ids. */
const currentTraceparent = Effect.map(Effect.option(Effect.currentSpan), (span) => {
  if (Option.isNone(span)) return undefined
  const { traceId, spanId } = span.value
  return HEX_TRACE.test(traceId) && HEX_SPAN.test(spanId) ? `00-${traceId}-${spanId}-01` : undefined
})

export const make = (
  redis: Redis["Service"],
  options: Resolved,
  codecs: ReadonlyMap<string, Codec>,
  counters: Counters
) => {
  const maxLen = String(options.maxLen)
  const timeout = Duration.toMillis(options.publishTimeout)
  const fail = unavailable("XADD")

  const send = (key: string, text: string) =>
    redis
      .send<string>("XADD", key, "MAXLEN", "~", maxLen, "*", "e", text)
      .pipe(Effect.timeout(timeout), Effect.mapError(fail))

  return <D extends Event.Definition>(
    definition: D,
    payload: Event.Payload<D>,
    opts?: Plugin.PublishOptions
  ): Effect.Effect<Published, PublishError> =>
    Effect.suspend(() => {
      const codec = codecs.get(definition.name)
      if (codec === undefined) return Effect.fail(new UnroutedEvent({ type: definition.name }))
      if (opts?.traceparent !== undefined) return publishWith(codec, payload, opts, opts.traceparent)
      return Effect.flatMap(currentTraceparent, (traceparent) => publishWith(codec, payload, opts, traceparent))
    })

  function publishWith(
    codec: Codec,
    payload: unknown,
    opts: Plugin.PublishOptions | undefined,
    traceparent: string | undefined
  ): Effect.Effect<Published, PublishError> {
    const definition = codec.definition
    const now = Date.now()
    const envelope = {
      id: uuidv7(now),
      type: definition.name,
      payload,
      priority: opts?.priority ?? definition.priority,
      publishedAt: now,
      attempt: 1,
      source: opts?.source,
      correlationId: opts?.correlationId,
      causationId: opts?.causationId,
      traceparent,
      headers: opts?.headers
    }
    const text = codec.encode(envelope)
    if (Exit.isFailure(text)) {
      const reason = text.cause.reasons[0]
      return Effect.fail(
        new Errors.InvalidEvent({
          type: definition.name,
          message: reason?._tag === "Fail" ? reason.error : "invalid payload"
        })
      )
    }
    return Effect.map(send(codec.stream, text.value), (entryId) => {
      counters.published++
      return { id: envelope.id, type: definition.name, entryId }
    })
  }
}
