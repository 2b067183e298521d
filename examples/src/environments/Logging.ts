/**
 * A small logging plugin for development: one log line per admission and per
 * delivery, through Effect's logger (so `Logger` layers and log levels apply).
 *
 * A plugin is a name and an Effect that returns its install function; the
 * install function returns the middleware (see `Plugin.make` in core).
 */
import { type Middleware, Plugin } from "@eventfabric/core"
import { Effect, Exit } from "effect"

const publish: Middleware.PublishMiddleware = (next) => (envelope, definition) =>
  next(envelope, definition).pipe(
    Effect.tap((receipt) => Effect.logInfo(`publish ${envelope.type} -> ${receipt.status} (${receipt.lane})`)),
    Effect.tapError((error) => Effect.logWarning(`publish ${envelope.type} refused: ${error._tag}`))
  )

const delivery: Middleware.DeliveryMiddleware = (next) => (d) =>
  Effect.onExit(next(d), (exit) =>
    Exit.isSuccess(exit)
      ? Effect.logDebug(`deliver ${d.envelope.type} to ${d.subscription.name}: ok`)
      : Effect.logWarning(
          `deliver ${d.envelope.type} to ${d.subscription.name}: failed (attempt ${d.envelope.attempt})`
        )
  )

/**
 * The logging plugin. Put it first (outermost) to see what the others decide.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { logging } from "./Logging.ts"
 * const Bus = EventBus.layer().pipe(Layer.provide(Plugin.layer(logging())))
 * ```
 */
export const logging = () =>
  Plugin.make(
    "logging",
    Effect.succeed(() => Effect.succeed({ publish, delivery }))
  )
