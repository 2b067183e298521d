/**
 * Who may change things: mutations need `Authorization: Bearer <token>`. A
 * header, not a cookie, so a foreign page cannot ride a session; compared in
 * constant time (SHA-256 digests of both sides, then `timingSafeEqual`, so
 * neither the content nor the length of the token leaks through timing).
 *
 * @since 0.1.0
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { Option, Redacted } from "effect"

/**
 * The verdict on one request.
 *
 * - `allowed`: a token is configured and the request carries it.
 * - `unauthorized`: a token is configured; the header is missing or wrong (401).
 * - `readOnly`: no token is configured; nothing may change (403).
 *
 * @since 0.1.0
 */
export type Verdict = "allowed" | "unauthorized" | "readOnly"

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest()

/**
 * Compares two strings in constant time.
 *
 * @example
 * ```ts
 * import { Auth } from "@eventfabric/inspector"
 * Auth.equals("s3cret", "s3cret") // true
 * ```
 * @since 0.1.0
 */
export const equals = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b))

/**
 * Judges an `Authorization` header against the configured token.
 *
 * @example
 * ```ts
 * import { Option, Redacted } from "effect"
 * import { Auth } from "@eventfabric/inspector"
 * Auth.check(Option.some(Redacted.make("s3cret")), "Bearer s3cret") // "allowed"
 * Auth.check(Option.none(), "Bearer s3cret") // "readOnly"
 * ```
 * @since 0.1.0
 */
export const check = (token: Option.Option<Redacted.Redacted<string>>, header: string | undefined): Verdict => {
  if (Option.isNone(token)) return "readOnly"
  const match = header === undefined ? null : /^Bearer[ ]+(.+)$/i.exec(header.trim())
  return match !== null && equals(match[1]!, Redacted.value(token.value)) ? "allowed" : "unauthorized"
}
