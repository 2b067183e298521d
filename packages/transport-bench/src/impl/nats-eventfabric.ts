/** @eventfabric/nats: publishAll from the publisher, the transport into a local bus in each consumer. */
import { EventBus } from "@eventfabric/core"
import { NatsConnection, NatsTransport } from "@eventfabric/nats"
import { DeadLetterStore } from "@eventfabric/plugins"
import { jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Effect, Layer } from "effect"
import { prefix, impl as raw, streamName } from "./nats-raw.ts"
import { open } from "./scoped.ts"
import { definitions, Tick } from "./tick.ts"
import { type Impl, NATS_URL } from "./types.ts"

const Connection = NatsConnection.layer({ servers: [NATS_URL] })
const names = (ns: string) => ({ stream: streamName(ns), subjectPrefix: prefix(ns) })

export const impl: Impl = {
  engine: "nats",
  name: "@eventfabric/nats",
  setup: async (ns) => {
    const nc = await connect({ servers: NATS_URL })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: streamName(ns), subjects: [`${prefix(ns)}.>`], storage: StorageType.File })
    await nc.close()
  },
  teardown: raw.teardown,
  publisher: async (ns) => {
    const { value: transport, close } = await open(
      // The connection lives in the outer scope, not just while `make` runs.
      Effect.flatMap(Layer.build(Connection), (context) =>
        Effect.provide(NatsTransport.make({ definitions, ...names(ns) }), context)
      )
    )
    return { publish: (items) => Effect.runPromise(Effect.asVoid(transport.publishAll(Tick, items))), close }
  },
  consumer: async (ns, _name, onEvent) => {
    const { close } = await open(
      Effect.gen(function* () {
        const context = yield* Layer.build(
          Layer.mergeAll(
            EventBus.EventBus.layer({ lanes: { normal: { capacity: 16_384, strategy: "suspend" } } }),
            NatsTransport.layer({ definitions, ...names(ns), group: "bench", maxInFlight: 1024 }),
            DeadLetterStore.layerMemory()
          ).pipe(Layer.provide(Connection))
        )
        yield* Effect.gen(function* () {
          const bus = yield* EventBus.EventBus
          yield* bus.subscribe(Tick, (e) => Effect.sync(() => onEvent(e.payload.sent)), { name: "count" })
          yield* (yield* NatsTransport.NatsTransport).start
        }).pipe(Effect.provide(context))
      })
    )
    return close
  }
}
