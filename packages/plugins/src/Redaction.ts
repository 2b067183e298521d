/**
 * Redaction: mask secrets and personal data in payloads and headers.
 *
 * - By key: 47 sensitive keys (`password`, `token`, `api_key`,
 *   `authorization`, `cookie`, `ssn`, `cvv`, …), compared case-, `-`- and
 *   `_`-insensitively, plus keys ending in `password`, `secret`, `token`,
 *   `apikey` or `privatekey`. The whole value is masked.
 * - By pattern, inside any string: 23 classes (emails, phones US /
 *   international / E.164, IPv4, IPv6, AWS key ids, secrets and ARNs, GCP API
 *   keys and service accounts, PEM private keys, JWTs, GitHub, GitLab, Slack
 *   and Stripe tokens, Slack webhooks, Bearer/Basic credentials, long base64
 *   secrets, passwords in URLs, Luhn-checked card numbers, US SSNs). Only the
 *   match is masked: `"mail a@b.io"` becomes `"mail [REDACTED:email]"`.
 * - `Redacted` values (fields typed `Schema.Redacted`) are always masked.
 *
 * The walk is deep, copy-on-write (an untouched payload is returned as is),
 * safe on cycles (`"[Circular]"`) and bounded in depth (`"[Truncated]"`). Only
 * plain objects and arrays are entered; class instances (a `DateTime`) are
 * kept as they are.
 *
 * Two modes. `"subscribers"`: the publish middleware rewrites the payload, so
 * no subscriber ever sees a secret. `"egress"`: subscribers see the real
 * payload; what leaves the process (DLQ, audit log, logs, spans, transports)
 * goes through the `Redactor` service.
 *
 * @since 0.1.0
 */
import { Options as CoreOptions, type Envelope, type Middleware, Plugin } from "@eventfabric/core"
import { Context, Effect, Layer, Schema } from "effect"
import * as internal from "./internal/redaction.ts"

/**
 * The config. Every field is optional.
 *
 * - `mode`: `"egress"` (default) or `"subscribers"`.
 * - `mask`: the replacement text, default `"[REDACTED]"`.
 * - `labels`: name the class in pattern masks (`[REDACTED:email]`), default true.
 * - `maxDepth`: levels walked before the rest is `"[Truncated]"`, default 32.
 * - `keys` / `patterns`: switch either half off.
 * - `extraKeys`: more sensitive keys; `disable`: pattern classes to skip
 *   (names as in `classes`).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Redaction } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Redaction.Options)({ mode: "subscribers", extraKeys: ["tax_id"], disable: ["ipv4"] })
 * ```
 * @since 0.1.0
 */
export const Options = Schema.Struct({
  mode: Schema.optional(Schema.Literals(["subscribers", "egress"])),
  mask: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  labels: Schema.optional(Schema.Boolean),
  maxDepth: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1000 }))),
  keys: Schema.optional(Schema.Boolean),
  patterns: Schema.optional(Schema.Boolean),
  extraKeys: Schema.optional(Schema.Array(Schema.String.check(Schema.isNonEmpty()))),
  disable: Schema.optional(Schema.Array(Schema.Literals(internal.patternClasses.map((c) => c.name))))
})

/**
 * @since 0.1.0
 */
export type Options = typeof Options.Encoded

/**
 * The sensitive keys, as listed (47, distinct after normalisation).
 *
 * @example
 * ```ts
 * import { Redaction } from "@eventfabric/plugins"
 * Redaction.keys.includes("password") // true
 * ```
 * @since 0.1.0
 */
export const keys: ReadonlyArray<string> = internal.sensitiveKeys

/**
 * The names of the pattern classes, in the order they are applied.
 *
 * @example
 * ```ts
 * import { Redaction } from "@eventfabric/plugins"
 * Redaction.classes.includes("jwt") // true
 * ```
 * @since 0.1.0
 */
export const classes: ReadonlyArray<string> = internal.patternClasses.map((c) => c.name)

/**
 * What egress points call before anything leaves the process.
 *
 * @since 0.1.0
 */
export interface RedactorShape {
  /** The envelope with payload and headers masked. Untouched parts keep their identity. */
  readonly redact: <A>(envelope: Envelope.Envelope<A>) => Envelope.Envelope<A>
  /** Masks any value (deep). */
  readonly value: (u: unknown) => unknown
  /** Masks the pattern classes inside one string (a log line, a rendered cause). */
  readonly string: (s: string) => string
}

const makeUnsafe = (config: typeof Options.Type, keepRedactedType: boolean): RedactorShape => {
  const engine = internal.makeEngine({
    mask: config.mask ?? "[REDACTED]",
    labels: config.labels ?? true,
    maxDepth: config.maxDepth ?? 32,
    keys: config.keys ?? true,
    patterns: config.patterns ?? true,
    extraKeys: config.extraKeys ?? [],
    disabled: config.disable ?? [],
    keepRedactedType
  })
  const redact = <A>(envelope: Envelope.Envelope<A>): Envelope.Envelope<A> => {
    const payload = engine.value(envelope.payload) as A
    const headers =
      envelope.headers === undefined ? undefined : (engine.value(envelope.headers) as Record<string, string>)
    return payload === envelope.payload && headers === envelope.headers ? envelope : { ...envelope, payload, headers }
  }
  return { redact, value: engine.value, string: engine.string }
}

/**
 * Makes a redactor from a config, decoded by Schema.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redaction } from "@eventfabric/plugins"
 *
 * const masked = Effect.map(Redaction.make(), (r) => r.value({ password: "hunter2", note: "call +14155552671" }))
 * // { password: "[REDACTED]", note: "call [REDACTED:phone_e164]" }
 * ```
 * @since 0.1.0
 */
export const make = (config?: Options) =>
  Effect.map(CoreOptions.decode(Options, "Redaction", config), (decoded) => makeUnsafe(decoded, false))

/**
 * The egress redactor. The DLQ, the audit log, tracing and transports look it
 * up with `Effect.serviceOption(Redactor)` and mask what they write when it is
 * present.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redaction } from "@eventfabric/plugins"
 *
 * const program = Effect.gen(function*() {
 *   const redactor = yield* Redaction.Redactor
 *   return redactor.value({ token: "abc" })
 * }).pipe(Effect.provide(Redaction.Redactor.layer()))
 * ```
 * @since 0.1.0
 */
export class Redactor extends Context.Service<Redactor, RedactorShape>()("@eventfabric/plugins/Redaction/Redactor") {
  /**
   * The redactor as a layer; a bad config fails it with `InvalidOptions`.
   *
   * @example
   * ```ts
   * import { Redaction } from "@eventfabric/plugins"
   * const RedactorLive = Redaction.Redactor.layer({ extraKeys: ["tax_id"] })
   * ```
   */
  static readonly layer = (config?: Options) => Layer.effect(Redactor, make(config))
}

/**
 * The publish middleware of `"subscribers"` mode, for buses assembled by hand.
 * `Redacted` values become a `Redacted` of the mask, so payload types hold.
 *
 * @example
 * ```ts
 * import { Redaction } from "@eventfabric/plugins"
 * const middleware = Redaction.middleware({ extraKeys: ["tax_id"] })
 * ```
 * @since 0.1.0
 */
export const middleware = (config: typeof Options.Type): Middleware.PublishMiddleware => {
  const redactor = makeUnsafe(config, true)
  return (next) => (envelope, definition) => next(redactor.redact(envelope), definition)
}

/**
 * The plugin. In `"subscribers"` mode it rewrites payloads at publish (place
 * it after Validation, before Dedup and Audit). In `"egress"` mode it installs
 * no middleware: provide `Redactor.layer(config)` to the egress points.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Redaction } from "@eventfabric/plugins"
 *
 * const Bus = EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Redaction.plugin({ mode: "subscribers" }))))
 * ```
 * @since 0.1.0
 */
export const plugin = Plugin.configured(
  "Redaction",
  Options,
  (decoded): Plugin.Hooks => ((decoded.mode ?? "egress") === "subscribers" ? { publish: middleware(decoded) } : {})
)
