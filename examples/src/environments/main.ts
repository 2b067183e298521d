/**
 * One program, three environments, picked by `APP_ENV` (dev | test | prod):
 *
 *   APP_ENV=prod pnpm example:environments
 *
 * See `layers.ts` for what each environment plugs in.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { AppEnv, Selected } from "./layers.ts"
import { program } from "./program.ts"

const main = Effect.gen(function* () {
  const env = yield* AppEnv
  yield* Console.log(`environment: ${env}`)
  yield* program.pipe(Effect.provide(Selected))
})

NodeRuntime.runMain(main)
