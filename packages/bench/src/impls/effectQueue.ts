import { Effect, Exit, Queue, Scope } from "effect"
import { makeFeeder } from "./feeder.ts"
import type { Impl, Instance, Payload, SetupOptions } from "./types.ts"

/**
 * The ceiling for an Effect-based bus: `Queue.bounded(1024)` and one consumer
 * fiber that takes every queued payload at once and calls the handlers inline,
 * as plain calls. No isolation, no lanes, no accounting: the cost of the
 * queue hop alone.
 */
export const effectQueue: Impl = {
  name: "effect-queue-inline",
  setup: async (o: SetupOptions): Promise<Instance> => {
    const scope = Effect.runSync(Scope.make())
    const queue = Effect.runSync(Queue.bounded<Payload>(1024))
    const n = o.subscribers
    const consumer = Effect.forever(
      Effect.map(Queue.takeAll(queue), (batch) => {
        for (let i = 0; i < batch.length; i++) {
          const p = batch[i]!
          for (let sub = 0; sub < n; sub++) o.handler(sub, p)
        }
      })
    )
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
