import { randomUUID } from "node:crypto"
import { connect, createServer, type Server, type Socket } from "node:net"
import { EventBus } from "@eventfabric/core"
import { DeadLetterStore } from "@eventfabric/plugins"
import { Duration, Effect, Layer, type Scope } from "effect"
import { Redis } from "effect/persistence/Redis"
import { RedisConnection, RedisDeadLetterStore, RedisTransport, type TransportOptions } from "../src/index.ts"
import { scanKeys } from "../src/internal/redis.ts"
import { ENV_URL } from "./server.ts"

export { definitions, OrderPlaced, OrderShipped } from "./fixtures/definitions.ts"

/** The suite's server (from the global setup), or undefined: then the suites skip. */
export const REDIS_URL = process.env[ENV_URL] || undefined
export const skip = REDIS_URL === undefined
const REDIS_PORT = REDIS_URL === undefined ? 0 : Number(new URL(REDIS_URL).port)
export const RedisLive = RedisConnection.layer({ url: REDIS_URL ?? "redis://127.0.0.1:1" })

/** A fresh key prefix; `cleanup` deletes everything under it. */
export const uniquePrefix = () => `eftest:${randomUUID().slice(0, 8)}`

export const cleanup = (prefix: string) =>
  Effect.gen(function* () {
    const redis = yield* Redis
    const keys = yield* scanKeys(redis.send, `${prefix}*`)
    for (let i = 0; i < keys.length; i += 500) yield* redis.send("DEL", ...keys.slice(i, i + 500))
  }).pipe(Effect.ignore)

/** Runs `self` with a unique prefix, deleting its keys afterwards, within `limit`. */
export const withPrefix = <A, E, R>(
  self: (prefix: string) => Effect.Effect<A, E, R>,
  limit: Duration.Input = "20 seconds"
) => {
  const prefix = uniquePrefix()
  return self(prefix).pipe(
    Effect.timeout(limit),
    Effect.ensuring(cleanup(prefix)),
    Effect.scoped,
    Effect.provide(RedisLive)
  )
}

/**
 * One "process": its own bus, transport and DLQ store, subscribed by `setup`,
 * then consuming. Lives until the enclosing scope closes.
 */
export const startNode = Effect.fnUntraced(function* <E>(
  options: TransportOptions.TransportOptions,
  setup: (bus: EventBus.EventBus["Service"]) => Effect.Effect<void, E, Scope.Scope>
) {
  const context = yield* Layer.build(
    Layer.mergeAll(
      EventBus.EventBus.layer(),
      RedisTransport.RedisTransport.layer(options),
      RedisDeadLetterStore.layer({ prefix: `${options.prefix}:dlq` })
    )
  )
  return yield* Effect.gen(function* () {
    yield* setup(yield* EventBus.EventBus)
    const transport = yield* RedisTransport.RedisTransport
    if (options.group !== undefined) yield* transport.start
    return { transport, dlq: yield* DeadLetterStore.DeadLetterStore }
  }).pipe(Effect.provide(context))
})

/** A publisher only: no group, no bus needed. */
export const publisher = (options: TransportOptions.TransportOptions) => RedisTransport.make(options)

/** Polls `condition` every 20 ms until it holds; bounded by the test's timeout. */
export const waitUntil = <E, R>(condition: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function* () {
    while (!(yield* condition)) yield* Effect.sleep(Duration.millis(20))
  })

/** Entries pending in a group (0 when all acknowledged). */
export const pendingCount = (stream: string, group: string) =>
  Effect.flatMap(Redis, (redis) =>
    redis.send<[number, ...Array<unknown>]>("XPENDING", stream, group).pipe(Effect.map((r) => Number(r[0])))
  )

/**
 * A TCP proxy to the real Redis that a test can cut and restore (Redis down),
 * or hold and release (Redis stalled: what clients send waits in the proxy).
 */
export const proxy = Effect.acquireRelease(
  Effect.promise(async () => {
    const sockets = new Set<Socket>()
    const pairs = new Set<{ readonly client: Socket; readonly upstream: Socket }>()
    let server: Server | undefined
    let port = 0
    let held = false
    const listen = () =>
      new Promise<void>((resolve) => {
        server = createServer((client) => {
          const upstream = connect(REDIS_PORT, "127.0.0.1")
          const pair = { client, upstream }
          sockets.add(client).add(upstream)
          pairs.add(pair)
          upstream.pipe(client)
          if (held) client.pause()
          else client.pipe(upstream)
          const close = () => {
            pairs.delete(pair)
            client.destroy()
            upstream.destroy()
          }
          client.on("error", close).on("close", close)
          upstream.on("error", close).on("close", close)
        })
        server.listen(port, "127.0.0.1", () => {
          port = (server!.address() as { port: number }).port
          resolve()
        })
      })
    const cut = () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        sockets.clear()
        pairs.clear()
        server!.close(() => resolve())
      })
    const hold = () => {
      held = true
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream)
        client.pause()
      }
    }
    const release = () => {
      held = false
      for (const { client, upstream } of pairs) client.pipe(upstream)
    }
    await listen()
    return { port: () => port, cut, restore: listen, hold, release }
  }),
  (p) => Effect.promise(() => p.cut().catch(() => {}))
)
