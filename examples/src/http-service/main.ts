/**
 * The HTTP service as a process. Every route needs `HTTP_TOKEN` as a bearer
 * token; without one set, a random token is made for this run and printed
 * once, so the demo runs with one command and is never open.
 *
 *   HTTP_TOKEN=s3cret PORT=3000 pnpm example:http
 *   curl -H 'authorization: Bearer s3cret' -XPOST localhost:3000/orders -d '{"orderId":"o-1","sku":"flaky","quantity":1}'
 *   curl -H 'authorization: Bearer s3cret' localhost:3000/dlq
 *   curl -H 'authorization: Bearer s3cret' localhost:3000/metrics
 *
 * Also read: `HOST` (127.0.0.1), `HTTP_MAX_BODY_BYTES` (65536),
 * `HTTP_PUBLISH_LIMIT` (100 per `HTTP_PUBLISH_WINDOW`, "1 second").
 */
import { randomBytes } from "node:crypto"
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Duration, Effect, Layer, Option, Redacted } from "effect"
import { HttpServer } from "effect/http"
import { defaults, layer } from "./server.ts"

const main = Effect.gen(function* () {
  const port = yield* Config.Int("PORT").pipe(Config.withDefault(3000))
  const host = yield* Config.String("HOST").pipe(Config.withDefault("127.0.0.1"))
  const configured = yield* Config.option(Config.Redacted("HTTP_TOKEN"))
  const maxBodyBytes = yield* Config.Int("HTTP_MAX_BODY_BYTES").pipe(Config.withDefault(defaults.maxBodyBytes))
  const publishLimit = yield* Config.Int("HTTP_PUBLISH_LIMIT").pipe(Config.withDefault(defaults.publishLimit))
  const publishWindow = yield* Config.Duration("HTTP_PUBLISH_WINDOW").pipe(
    Config.withDefault(Duration.fromInputUnsafe(defaults.publishWindow))
  )
  const token = Option.getOrElse(configured, () => {
    const made = Redacted.make(randomBytes(24).toString("base64url"))
    return made
  })
  if (Option.isNone(configured)) yield* Console.log(`no HTTP_TOKEN set; this run's token: ${Redacted.value(token)}`)
  return yield* Layer.launch(
    Layer.effectDiscard(
      Effect.flatMap(HttpServer.HttpServer, (server) =>
        Effect.logInfo(`listening on ${JSON.stringify(server.address)}`)
      )
    ).pipe(Layer.provideMerge(layer({ port, host, token, maxBodyBytes, publishLimit, publishWindow })))
  )
})

NodeRuntime.runMain(main)
