/**
 * Every error the service answers is JSON `{ code, message }` with a stable
 * code: no stack trace, no file path, no echo of the request body. Anything
 * unexpected is logged on the server and answered `500 Internal`.
 */
import { Cause, Effect } from "effect"
import { HttpServerResponse } from "effect/http"

/** The codes a client can rely on. */
export type Code =
  | "InvalidEvent"
  | "Unauthorized"
  | "PayloadTooLarge"
  | "RateLimited"
  | "NotFound"
  | "Unavailable"
  | "Conflict"
  | "Internal"

const statusOf: Record<Code, number> = {
  InvalidEvent: 400,
  Unauthorized: 401,
  PayloadTooLarge: 413,
  RateLimited: 429,
  NotFound: 404,
  Unavailable: 503,
  Conflict: 409,
  Internal: 500
}

/** A typed JSON error response. */
export const respond = (code: Code, message: string, headers?: Record<string, string>) =>
  HttpServerResponse.jsonUnsafe({ code, message }, { status: statusOf[code], headers })

/** Answers `500 Internal` for whatever a route did not handle, logging the cause on the server only. */
export const internal = <R>(
  self: Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
  Effect.catchCause(self, (cause) =>
    Cause.hasInterruptsOnly(cause)
      ? Effect.failCause(cause as Cause.Cause<never>)
      : Effect.as(Effect.logError("request failed", cause), respond("Internal", "internal error"))
  )
