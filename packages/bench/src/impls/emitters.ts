import { EventEmitter as NodeEmitter } from "node:events"
import { setTimeout as sleep } from "node:timers/promises"
import Emittery from "emittery"
import { EventEmitter as EventEmitter3 } from "eventemitter3"
import type { Impl, Instance, Payload, SetupOptions } from "./types.ts"

/** The little the three emitter libraries share, as the bench uses them. */
interface Emitter {
  on(listener: (p: Payload) => unknown): void
  emit(p: Payload): void
  clear(): void
}

/**
 * An emitter library as a bench implementation: one listener per subscriber;
 * the slow subscriber runs its body, then waits `ms` asynchronously (awaited
 * only where the library awaits listeners).
 */
const emitterImpl = (name: string, make: () => Emitter): Impl => ({
  name,
  setup: async (o: SetupOptions): Promise<Instance> => {
    const emitter = make()
    for (let i = 0; i < o.subscribers; i++) {
      const sub = i
      const slow = o.slow?.index === sub ? o.slow.ms : undefined
      emitter.on(
        slow === undefined
          ? (p) => o.handler(sub, p)
          : (p) => {
              o.handler(sub, p)
              return sleep(slow)
            }
      )
    }
    return {
      send: (batch) => {
        for (let i = 0; i < batch.length; i++) emitter.emit(batch[i]!)
      },
      depth: () => undefined,
      close: async () => emitter.clear()
    }
  }
})

/** node:events: handlers run synchronously inside `emit`. */
export const nodeEvents = emitterImpl("node:events", () => {
  const e = new NodeEmitter()
  e.setMaxListeners(0)
  return { on: (l) => void e.on("e", l), emit: (p) => void e.emit("e", p), clear: () => void e.removeAllListeners() }
})

/** eventemitter3: synchronous like node:events. */
export const eventemitter3 = emitterImpl("eventemitter3", () => {
  const e = new EventEmitter3<{ e: [Payload] }>()
  return { on: (l) => void e.on("e", l), emit: (p) => void e.emit("e", p), clear: () => void e.removeAllListeners() }
})

/** emittery: `emit` returns a promise; listeners run after a microtask, concurrently. */
export const emittery = emitterImpl("emittery", () => {
  const e = new Emittery<{ e: Payload }>()
  return {
    // Emittery awaits what a listener returns: the slow one's sleep; the others return nothing.
    on: (l) => void e.on("e", l as (p: Payload) => void | Promise<void>),
    emit: (p) => void e.emit("e", p),
    clear: () => e.clearListeners()
  }
})
