import { Effect, Exit, PubSub, Scope } from "effect"
import { makeFeeder } from "./feeder.ts"
import type { Impl, Instance, Payload, SetupOptions } from "./types.ts"

/** Effect `PubSub.bounded(1024)`, one fiber per subscriber taking and running the handler. */
export const effectPubSub: Impl = {
  name: "effect-pubsub",
  setup: async (o: SetupOptions): Promise<Instance> => {
    const scope = Effect.runSync(Scope.make())
    const pubsub = Effect.runSync(PubSub.bounded<Payload>(1024))
    for (let i = 0; i < o.subscribers; i++) {
      const sub = i
      const slow = o.slow?.index === sub ? o.slow.ms : undefined
      const subscription = Effect.runSync(Scope.provide(PubSub.subscribe(pubsub), scope))
      const body = (p: Payload) => Effect.sync(() => o.handler(sub, p))
      const run =
        slow === undefined ? (p: Payload) => body(p) : (p: Payload) => Effect.andThen(body(p), Effect.sleep(slow))
      Effect.runSync(
        Scope.provide(Effect.forkScoped(Effect.forever(Effect.flatMap(PubSub.take(subscription), run))), scope)
      )
    }
    const feeder = makeFeeder((p) => PubSub.publish(pubsub, p))
    return {
      send: feeder.send,
      depth: () => PubSub.sizeUnsafe(pubsub) + feeder.backlog(),
      close: async () => {
        feeder.stop()
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    }
  }
}
