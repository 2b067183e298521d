import { setTimeout as sleep } from "node:timers/promises"
import Emittery from "emittery"
import type { Impl, Instance, Payload, SetupOptions } from "./types.ts"

/** emittery: `emit` returns a promise; listeners run after a microtask, concurrently. */
export const emittery: Impl = {
  name: "emittery",
  setup: async (o: SetupOptions): Promise<Instance> => {
    const emitter = new Emittery<{ e: Payload }>()
    for (let i = 0; i < o.subscribers; i++) {
      const sub = i
      if (o.slow?.index === sub) {
        const ms = o.slow.ms
        emitter.on("e", async (p) => {
          o.handler(sub, p)
          await sleep(ms)
        })
      } else {
        emitter.on("e", (p) => o.handler(sub, p))
      }
    }
    return {
      send: (batch) => {
        for (let i = 0; i < batch.length; i++) void emitter.emit("e", batch[i]!)
      },
      depth: () => undefined,
      close: async () => {
        emitter.clearListeners()
      }
    }
  }
}
