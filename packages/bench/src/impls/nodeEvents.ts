import { EventEmitter } from "node:events"
import { setTimeout as sleep } from "node:timers/promises"
import type { Impl, Instance, SetupOptions } from "./types.ts"

/** node:events: handlers run synchronously inside `emit`. A slow subscriber is an async listener. */
export const nodeEvents: Impl = {
  name: "node:events",
  setup: async (o: SetupOptions): Promise<Instance> => {
    const emitter = new EventEmitter()
    emitter.setMaxListeners(0)
    for (let i = 0; i < o.subscribers; i++) {
      const sub = i
      if (o.slow?.index === sub) {
        const ms = o.slow.ms
        emitter.on("e", (p) => {
          o.handler(sub, p)
          void sleep(ms)
        })
      } else {
        emitter.on("e", (p) => o.handler(sub, p))
      }
    }
    return {
      send: (batch) => {
        for (let i = 0; i < batch.length; i++) emitter.emit("e", batch[i])
      },
      depth: () => undefined,
      close: async () => {
        emitter.removeAllListeners()
      }
    }
  }
}
