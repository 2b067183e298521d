import { effectPubSub } from "./effectPubSub.ts"
import { effectQueue } from "./effectQueue.ts"
import { emittery, eventemitter3, nodeEvents } from "./emitters.ts"
import { eventfabric, eventfabricBatch } from "./eventfabric.ts"
import { naive } from "./naive.ts"
import type { Impl } from "./types.ts"

/** The bus first, then its peers; the Effect Queue with inline handlers is the ceiling for an Effect-based bus. */
export const all: ReadonlyArray<Impl> = [
  eventfabric,
  nodeEvents,
  eventemitter3,
  emittery,
  effectPubSub,
  naive,
  effectQueue
]

/** Every implementation a child process can be asked to run. */
const known: ReadonlyArray<Impl> = [...all, eventfabricBatch]

export const byName = (name: string): Impl => {
  const impl = known.find((i) => i.name === name)
  if (impl === undefined) throw new Error(`unknown implementation ${name}`)
  return impl
}
