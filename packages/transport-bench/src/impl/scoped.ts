/** Runs a scoped Effect to a value, keeping its scope open until `close`. */
import { Effect, Exit, Scope } from "effect"

export const open = async <A, E>(build: Effect.Effect<A, E, Scope.Scope>) => {
  const scope = Effect.runSync(Scope.make())
  const value = await Effect.runPromise(Effect.provideService(build, Scope.Scope, scope))
  return { value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
