import { effectPubSub } from "./effectPubSub.ts"
import { emittery, eventemitter3, nodeEvents } from "./emitters.ts"
import { eventfabric } from "./eventfabric.ts"
import { naive } from "./naive.ts"
import type { Impl } from "./types.ts"

/** The bus first, then its peers. */
export const all: ReadonlyArray<Impl> = [eventfabric, nodeEvents, eventemitter3, emittery, effectPubSub, naive]

export const byName = (name: string): Impl => {
  const impl = all.find((i) => i.name === name)
  if (impl === undefined) throw new Error(`unknown implementation ${name}`)
  return impl
}
