/** The shared envelope codec, with the stream it is written to. */
import type { Event } from "@eventfabric/core"
import { Codec as Shared, type Transport } from "@eventfabric/transport"

export interface Codec extends Shared.Codec {
  readonly stream: string
}

export const make = (definition: Event.Definition, stream: string, beforeEncode?: Transport.Encode): Codec => ({
  ...Shared.make(definition, beforeEncode),
  stream
})
