/**
 * Envelope <-> JSON text through a definition's payload Schema, compiled once
 * per definition; shared by every engine so they put the same bytes on the
 * wire and refuse the same junk with the same messages.
 *
 * @since 0.1.0
 */
import { Envelope, type Event } from "@eventfabric/core"
import { Exit, Schema } from "effect"
import type { Encode } from "./Transport.ts"

/**
 * @since 0.1.0
 */
export interface Codec {
  readonly definition: Event.Definition
  /**
   * JSON text, or the Schema message when the payload does not encode. Only
   * the payload goes through its Schema: the other fields are the publisher's
   * own, typed (see `encodeChecked` for fields a caller supplied).
   */
  readonly encode: (envelope: Envelope.Envelope) => Exit.Exit<string, string>
  /** Like `encode`, every field checked by the envelope Schema. */
  readonly encodeChecked: (envelope: Envelope.Envelope) => Exit.Exit<string, string>
  /** The decoded envelope, or a message naming what was wrong. */
  readonly decode: (text: string) => Exit.Exit<Envelope.Envelope, string>
}

/**
 * Compiles the codec of one definition. `beforeEncode`, when given, runs on
 * every envelope right before it is encoded (redaction at the boundary).
 *
 * @example
 * ```ts
 * import { Exit, Schema } from "effect"
 * import { Envelope, Event } from "@eventfabric/core"
 * import { Codec } from "@eventfabric/transport"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ id: Schema.String }) })
 * const codec = Codec.make(Placed)
 * const text = codec.encode(Envelope.make(Placed, { id: "o-1" }, undefined, 0))
 * Exit.isSuccess(text) && Exit.isSuccess(codec.decode(text.value)) // true
 * ```
 * @since 0.1.0
 */
export const make = (definition: Event.Definition, beforeEncode?: Encode): Codec => {
  const schema = Envelope.schema(definition.payload)
  const encodeEnvelope = Schema.encodeExit(schema)
  const encodePayload = Schema.encodeExit(definition.payload)
  const decode = Schema.decodeUnknownExit(schema)
  const decodePayload = Schema.decodeUnknownExit(definition.payload)
  const hook = beforeEncode ?? ((e: Envelope.Envelope) => e)
  const encodeChecked = (envelope: Envelope.Envelope): Exit.Exit<string, string> => {
    const exit = encodeEnvelope(hook(envelope) as any)
    return Exit.isSuccess(exit) ? Exit.succeed(JSON.stringify(exit.value)) : Exit.fail(message(exit))
  }
  return {
    definition,
    encode: (input) => {
      const envelope = hook(input)
      const payload = encodePayload(envelope.payload as any)
      // On failure, the envelope Schema names the path from the envelope: ["payload"]["total"].
      if (Exit.isFailure(payload)) return encodeChecked(envelope)
      return Exit.succeed(JSON.stringify({ ...envelope, payload: payload.value }))
    },
    encodeChecked,
    decode: (text) => {
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch (error) {
        return Exit.fail(`malformed JSON: ${(error as Error).message}`)
      }
      const fast = decodeFast(json, definition.name, decodePayload)
      if (fast !== undefined) return Exit.succeed(fast)
      // Anything the fast path does not accept is decoded again in full, for the message naming the path.
      const exit = decode(json)
      if (Exit.isFailure(exit)) return Exit.fail(message(exit))
      if (exit.value.type !== definition.name) {
        return Exit.fail(`unknown type ${JSON.stringify(exit.value.type)} on the stream of ${definition.name}`)
      }
      return Exit.succeed(exit.value as Envelope.Envelope)
    }
  }
}

const PRIORITIES = new Set(["critical", "normal", "low"])
const optionalString = (u: unknown) => u === undefined || typeof u === "string"

const isHeaders = (u: unknown): u is Record<string, string> => {
  if (u === null || typeof u !== "object" || Array.isArray(u)) return false
  for (const k in u) if (typeof (u as Record<string, unknown>)[k] !== "string") return false
  return true
}

/**
 * The envelope fields checked by hand and only the payload through its
 * Schema: measured 5.1 µs per envelope for the full envelope Schema decode
 * against 0.7 µs for `JSON.parse`, the largest cost on the consuming path.
 * Answers `undefined` for anything it does not accept; the caller then
 * decodes in full (same result, and the Schema's message).
 */
const decodeFast = (
  json: unknown,
  type: string,
  decodePayload: (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
): Envelope.Envelope | undefined => {
  if (json === null || typeof json !== "object") return undefined
  const e = json as Record<string, unknown>
  if (
    e.type !== type ||
    typeof e.id !== "string" ||
    e.id.length === 0 ||
    typeof e.priority !== "string" ||
    !PRIORITIES.has(e.priority) ||
    typeof e.publishedAt !== "number" ||
    !Number.isFinite(e.publishedAt) ||
    typeof e.attempt !== "number" ||
    !Number.isSafeInteger(e.attempt) ||
    e.attempt < 1 ||
    !optionalString(e.source) ||
    !optionalString(e.correlationId) ||
    !optionalString(e.causationId) ||
    !optionalString(e.traceparent) ||
    (e.headers !== undefined && !isHeaders(e.headers))
  ) {
    return undefined
  }
  const payload = decodePayload(e.payload)
  if (Exit.isFailure(payload)) return undefined
  const out: { -readonly [K in keyof Envelope.Envelope]: Envelope.Envelope[K] } = {
    id: e.id,
    type,
    payload: payload.value,
    priority: e.priority as Envelope.Envelope["priority"],
    publishedAt: e.publishedAt,
    attempt: e.attempt
  }
  if (e.source !== undefined) out.source = e.source as string
  if (e.correlationId !== undefined) out.correlationId = e.correlationId as string
  if (e.causationId !== undefined) out.causationId = e.causationId as string
  if (e.traceparent !== undefined) out.traceparent = e.traceparent as string
  if (e.headers !== undefined) out.headers = e.headers as Record<string, string>
  return out
}

const message = (exit: Exit.Exit<unknown, Schema.SchemaError>): string => {
  if (Exit.isSuccess(exit)) return ""
  const reason = exit.cause.reasons[0]
  return reason !== undefined && reason._tag === "Fail" ? reason.error.message : "invalid envelope"
}
