/**
 * Envelope <-> JSON text through a definition's payload Schema, compiled once
 * per definition.
 */
import { Envelope, type Event } from "@eventfabric/core"
import { Exit, Schema } from "effect"

export interface Codec {
  readonly definition: Event.Definition
  readonly stream: string
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

export const make = (definition: Event.Definition, stream: string): Codec => {
  const schema = Envelope.schema(definition.payload)
  const encode = Schema.encodeExit(schema)
  const encodePayload = Schema.encodeExit(definition.payload)
  const decode = Schema.decodeUnknownExit(schema)
  const encodeChecked = (envelope: Envelope.Envelope): Exit.Exit<string, string> => {
    const exit = encode(envelope as any)
    return Exit.isSuccess(exit) ? Exit.succeed(JSON.stringify(exit.value)) : Exit.fail(message(exit))
  }
  return {
    definition,
    stream,
    encode: (envelope) => {
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
      const exit = decode(json)
      if (Exit.isFailure(exit)) return Exit.fail(message(exit))
      if (exit.value.type !== definition.name) {
        return Exit.fail(`unknown type ${JSON.stringify(exit.value.type)} on the stream of ${definition.name}`)
      }
      return Exit.succeed(exit.value as Envelope.Envelope)
    }
  }
}

const message = (exit: Exit.Exit<unknown, Schema.SchemaError>): string => {
  if (Exit.isSuccess(exit)) return ""
  const reason = exit.cause.reasons[0]
  return reason !== undefined && reason._tag === "Fail" ? reason.error.message : "invalid envelope"
}
