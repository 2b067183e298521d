import { Suite } from "@eventfabric/transport-conformance"
import { Effect, Layer } from "effect"
import { NatsConnection, NatsTransport } from "../src/index.ts"
import { connection, deleteStream, NATS_URL, skip } from "./fixtures.ts"

const names = (namespace: string) => ({ stream: namespace.toUpperCase(), subjectPrefix: namespace })

Suite.run({
  name: "NATS JetStream",
  skip: skip ? "nats-server missing" : undefined,
  layer: (namespace, o) =>
    NatsTransport.layerTransport({
      ...names(namespace),
      definitions: o.definitions,
      group: o.group,
      maxDeliveries: o.maxDeliveries,
      storage: "memory",
      redelivery: { base: "50 millis", max: "200 millis" }
    }).pipe(Layer.provide(connection())),
  injectRaw: (namespace, type, text) =>
    Effect.flatMap(NatsConnection.NatsConnection, (c) =>
      Effect.promise(() => c.js.publish(`${namespace}.${type}`, text))
    ).pipe(Effect.scoped, Effect.provide(connection())),
  cleanup: (namespace) => (NATS_URL === undefined ? Effect.void : deleteStream(names(namespace).stream))
})
