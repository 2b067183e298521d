import { Effect, Schema } from "effect"
import { Event, EventBus } from "@eventfabric/core"
const E = Event.define("bench.normal", { payload: Schema.Struct({ n: Schema.Number }) })
const N = 200_000
let handled = 0
const program = Effect.gen(function* () {
  const bus = yield* EventBus.EventBus
  for (let i = 0; i < 5; i++) yield* bus.subscribe(E, () => Effect.sync(() => { handled++ }), { name: `s${i}` })
  for (let round = 0; round < 5; round++) {
    const t = performance.now()
    for (let i = 0; i < N; i++) yield* bus.publish(E, { n: i })
    yield* bus.drain
    const dt = performance.now() - t
    console.log(`${Math.round(N / (dt / 1000))} ev/s`)
  }
}).pipe(Effect.scoped, Effect.provide(EventBus.EventBus.layer()))
await Effect.runPromise(program)
