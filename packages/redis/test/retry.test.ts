import { RetrySuite } from "@eventfabric/transport-conformance"
import { Effect, Layer } from "effect"
import { RedisConnection, RedisTransport } from "../src/index.ts"
import { cleanup, REDIS_URL, skip } from "./fixtures.ts"

const connection = () => RedisConnection.layer({ url: REDIS_URL! })
const prefix = (namespace: string) => `rt:${namespace}`

// Retry's delay becomes the XCLAIM idle offset; it is capped at claimIdle, so claimIdle is above it.
RetrySuite.run({
  name: "Redis Streams",
  skip: skip ? "redis-server missing" : undefined,
  layer: (namespace, o) =>
    RedisTransport.layerTransport({
      prefix: prefix(namespace),
      definitions: o.definitions,
      group: o.group,
      block: "100 millis",
      claimIdle: "3 seconds",
      claimInterval: "50 millis",
      redelivery: { base: "50 millis", max: "100 millis" }
    }).pipe(Layer.provide(connection())),
  injectRaw: () => Effect.die("not used by the Retry cases"),
  cleanup: (namespace) =>
    skip ? Effect.void : cleanup(prefix(namespace)).pipe(Effect.provide(connection()), Effect.ignore)
})
