import { Suite } from "@eventfabric/transport-conformance"
import { Effect, Layer } from "effect"
import { Redis } from "effect/persistence/Redis"
import { RedisConnection, RedisTransport } from "../src/index.ts"
import { cleanup, REDIS_URL, skip } from "./fixtures.ts"

const connection = () => RedisConnection.layer({ url: REDIS_URL! })
const prefix = (namespace: string) => `ct:${namespace}`

Suite.run({
  name: "Redis Streams",
  skip: skip ? "redis-server missing" : undefined,
  layer: (namespace, o) =>
    RedisTransport.layerTransport({
      prefix: prefix(namespace),
      definitions: o.definitions,
      group: o.group,
      consumer: o.consumer,
      maxDeliveries: o.maxDeliveries,
      block: "100 millis",
      claimIdle: "1 second",
      claimInterval: "50 millis",
      redelivery: { base: "50 millis", max: "200 millis" }
    }).pipe(Layer.provide(connection())),
  injectRaw: (namespace, type, text) =>
    Effect.flatMap(Redis, (redis) => redis.send("XADD", `${prefix(namespace)}:${type}`, "*", "e", text)).pipe(
      Effect.scoped,
      Effect.provide(connection())
    ),
  cleanup: (namespace) =>
    skip ? Effect.void : cleanup(prefix(namespace)).pipe(Effect.provide(connection()), Effect.ignore)
})
