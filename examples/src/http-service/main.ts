/**
 * The HTTP service as a process:
 *
 *   PORT=3000 pnpm example:http
 *   curl -XPOST localhost:3000/orders -d '{"orderId":"o-1","sku":"flaky","quantity":1}'
 *   curl localhost:3000/dlq
 *   curl -XPOST "localhost:3000/dlq/$(node -p 'encodeURIComponent(process.argv[1])' 'fulfilment/<envelope id>')/retry"
 *   curl localhost:3000/metrics
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { layer } from "./server.ts"

const main = Effect.gen(function* () {
  const port = yield* Config.Int("PORT").pipe(Config.withDefault(3000))
  const host = yield* Config.String("HOST").pipe(Config.withDefault("127.0.0.1"))
  return yield* Layer.launch(
    Layer.effectDiscard(
      Effect.flatMap(HttpServer.HttpServer, (server) =>
        Effect.logInfo(`listening on ${JSON.stringify(server.address)}`)
      )
    ).pipe(Layer.provideMerge(layer({ port, host })))
  )
})

NodeRuntime.runMain(main)
