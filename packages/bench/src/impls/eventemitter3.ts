import { setTimeout as sleep } from "node:timers/promises"
import { EventEmitter } from "eventemitter3"
import type { Impl, Instance, Payload, SetupOptions } from "./types.ts"

/** eventemitter3: synchronous like node:events. */
export const eventemitter3: Impl = {
  name: "eventemitter3",
  setup: async (o: SetupOptions): Promise<Instance> => {
    const emitter = new EventEmitter<{ e: [Payload] }>()
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
        for (let i = 0; i < batch.length; i++) emitter.emit("e", batch[i]!)
      },
      depth: () => undefined,
      close: async () => {
        emitter.removeAllListeners()
      }
    }
  }
}
