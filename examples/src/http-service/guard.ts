/**
 * What every route passes before it runs: a bearer token (compared in
 * constant time), a body limit (413 before the body is read when
 * `content-length` says so, and while reading otherwise), and on publish a
 * rate limit per client from `effect/persistence`'s RateLimiter.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { Duration, Effect, Option, Redacted } from "effect"
import { HttpIncomingMessage, HttpServerRequest, type HttpServerResponse } from "effect/http"
import { RateLimiter } from "effect/persistence"
import { respond } from "./errors.ts"

/** How the service is guarded; read from `Config` in `server.ts`. */
export interface GuardOptions {
  /** Required as `Authorization: Bearer <token>` on every route. */
  readonly token: Redacted.Redacted<string>
  /** Largest accepted request body, in bytes. */
  readonly maxBodyBytes: number
  /** Publishes per client per window. */
  readonly publishLimit: number
  readonly publishWindow: Duration.Duration
}

// Hashing both sides first gives equal-length inputs, so `timingSafeEqual`
// never throws and the comparison takes the same time for any guess.
const digest = (s: string) => createHash("sha256").update(s).digest()

/** True when the request carries the token. */
export const authorized = (request: HttpServerRequest.HttpServerRequest, token: Redacted.Redacted<string>) => {
  const header = request.headers.authorization ?? ""
  const presented = header.startsWith("Bearer ") ? header.slice(7) : ""
  return timingSafeEqual(digest(presented), digest(Redacted.value(token)))
}

/** Runs `route` only for an authorized request whose body fits. */
export const guard =
  (options: GuardOptions) =>
  <E, R>(
    route: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      if (!authorized(request, options.token)) {
        return Effect.succeed(
          respond("Unauthorized", "a valid bearer token is required", { "www-authenticate": "Bearer" })
        )
      }
      const length = Number(request.headers["content-length"] ?? 0)
      if (length > options.maxBodyBytes) {
        return Effect.succeed(respond("PayloadTooLarge", `the body limit is ${options.maxBodyBytes} bytes`))
      }
      return Effect.provideService(route, HttpIncomingMessage.MaxBodySize, BigInt(options.maxBodyBytes) as never)
    })

/** The client a rate limit counts against: the socket's remote address. */
const clientOf = (request: HttpServerRequest.HttpServerRequest) =>
  Option.getOrElse(request.remoteAddress, () => "unknown")

/** Fails the request `429` with `retry-after` once a client exceeds its publishes per window. */
export const rateLimited =
  (options: GuardOptions) =>
  <E, R>(route: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const limiter = yield* RateLimiter.RateLimiter
      const verdict = yield* Effect.result(
        limiter.consume({
          key: `publish:${clientOf(request)}`,
          limit: options.publishLimit,
          window: options.publishWindow,
          onExceeded: "fail"
        })
      )
      if (verdict._tag === "Failure") {
        const reason = verdict.failure.reason
        const retryAfter =
          reason._tag === "RateLimitExceeded" ? Math.max(1, Math.ceil(Duration.toSeconds(reason.retryAfter))) : 1
        return respond("RateLimited", "too many publishes; slow down", { "retry-after": String(retryAfter) })
      }
      return yield* route
    })
