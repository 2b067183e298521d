import { RetrySuite } from "@eventfabric/transport-conformance"
import { Effect, Layer } from "effect"
import { NatsTransport } from "../src/index.ts"
import { connection, deleteStream, NATS_URL, skip } from "./fixtures.ts"

const names = (namespace: string) => ({ stream: namespace.toUpperCase(), subjectPrefix: namespace })

// Retry's delay becomes the nak delay: no redelivery setting here is as long as it.
RetrySuite.run({
  name: "NATS JetStream",
  skip: skip ? "nats-server missing" : undefined,
  layer: (namespace, o) =>
    NatsTransport.layerTransport({
      ...names(namespace),
      definitions: o.definitions,
      group: o.group,
      storage: "memory",
      redelivery: { base: "50 millis", max: "100 millis" }
    }).pipe(Layer.provide(connection())),
  injectRaw: () => Effect.die("not used by the Retry cases"),
  cleanup: (namespace) => (NATS_URL === undefined ? Effect.void : deleteStream(names(namespace).stream))
})
