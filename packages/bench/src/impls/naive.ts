import { Effect, Exit, Queue, Scope, Semaphore } from "effect"
import { makeFeeder } from "./feeder.ts"
import type { Impl, Instance, Payload, SetupOptions } from "./types.ts"

/** The naive bus: `Queue.bounded(1024)` -> one consumer fiber -> a forked fiber per handler under `Semaphore(100)`. */
export const naive: Impl = {
  name: "naive-bus",
  setup: async (o: SetupOptions): Promise<Instance> => {
    const scope = Effect.runSync(Scope.make())
    const queue = Effect.runSync(Queue.bounded<Payload>(1024))
    const semaphore = Semaphore.makeUnsafe(100)
    const guarded = Semaphore.withPermit(semaphore)
    const handlers = Array.from({ length: o.subscribers }, (_, sub) => {
      const body = (p: Payload) => Effect.sync(() => o.handler(sub, p))
      const slow = o.slow?.index === sub ? o.slow.ms : undefined
      return slow === undefined ? body : (p: Payload) => Effect.andThen(body(p), Effect.sleep(slow))
    })
    const consumer = Effect.gen(function* () {
      while (true) {
        const p = yield* Queue.take(queue)
        for (let i = 0; i < handlers.length; i++) yield* Effect.forkChild(guarded(handlers[i]!(p)))
      }
    })
    Effect.runSync(Scope.provide(Effect.forkScoped(consumer), scope))
    const feeder = makeFeeder((p) => Queue.offer(queue, p))
    return {
      send: feeder.send,
      depth: () => Queue.sizeUnsafe(queue) + feeder.backlog(),
      close: async () => {
        feeder.stop()
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    }
  }
}
