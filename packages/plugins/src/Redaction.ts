/**
 * Redaction: mask secrets and personal data in payloads and headers.
 *
 * - By key: 47 sensitive keys (`password`, `token`, `api_key`,
 *   `authorization`, `cookie`, `ssn`, `cvv`, …), compared case-, `-`- and
 *   `_`-insensitively, plus keys ending in `password`, `secret`, `token`,
 *   `apikey` or `privatekey`. The whole value is masked.
 * - By pattern, inside any string: 26 classes (emails, phones US /
 *   international / E.164, IPv4, IPv6, AWS key ids, secrets and ARNs, GCP API
 *   keys and service accounts, PEM private keys, JWTs, GitHub, GitLab, Slack
 *   and Stripe tokens, Slack webhooks, Bearer/Basic credentials, long base64
 *   secrets, passwords in URLs, secrets in URL query strings and connection
 *   strings, `key: value` assignments of secrets in free text, Luhn-checked
 *   card numbers, US SSNs). Only the match is masked: `"mail a@b.io"` becomes
 *   `"mail [REDACTED:email]"`.
 * - A string that holds a JSON object or array is parsed and walked like a
 *   payload (keys included), then written back.
 * - `Redacted` values (fields typed `Schema.Redacted`) are always masked.
 *
 * The walk is deep, copy-on-write (an untouched payload is returned as is),
 * safe on cycles (`"[Circular]"`) and bounded in depth (`"[Truncated]"`). Only
 * plain objects and arrays are entered; class instances (a `DateTime`) are
 * kept as they are.
 *
 * Two modes. `"subscribers"`: the publish middleware rewrites the payload, so
 * no subscriber ever sees a secret. `"egress"` (the default): subscribers see
 * the real payload. In both, installing the plugin makes its redactor the
 * bus's egress (`bus.egress`), applied to everything that leaves the process:
 * dead letters (any store), audit lines, `system.handler_error` payloads and
 * rendered causes, span attributes and recorded failures, what handlers log,
 * and transport messages. A dead letter is stored masked, so a retry from
 * the DLQ delivers the masked envelope.
 *
 * @since 0.1.0
 */
import { Options as CoreOptions, Egress, type Envelope, type Middleware, Plugin } from "@eventfabric/core"
import { Context, Effect, Layer, References, Schema } from "effect"
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
export interface RedactorShape extends Egress.Egress {
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
  const text = (s: string | undefined) => (s === undefined ? s : engine.string(s))
  // Payload, headers and the free-text fields a publisher fills (`source`, `correlationId`): ids the
  // bus makes (`id`, `causationId`, `traceparent`) hold no user data and are left as they are.
  const redact = <A>(envelope: Envelope.Envelope<A>): Envelope.Envelope<A> => {
    const payload = engine.value(envelope.payload) as A
    const headers =
      envelope.headers === undefined ? undefined : (engine.value(envelope.headers) as Record<string, string>)
    const source = text(envelope.source)
    const correlationId = text(envelope.correlationId)
    return payload === envelope.payload &&
      headers === envelope.headers &&
      source === envelope.source &&
      correlationId === envelope.correlationId
      ? envelope
      : { ...envelope, payload, headers, source, correlationId }
  }
  return { redact, envelope: redact, value: engine.value, string: engine.string }
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
 * The plugin: the bus's egress filter in both modes; in `"subscribers"` mode
 * it also rewrites payloads at publish (place it after Validation, before
 * Dedup and Audit).
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
export const plugin = Plugin.configured("Redaction", Options, (decoded): Plugin.Hooks => {
  const egress = makeUnsafe(decoded, false)
  return (decoded.mode ?? "egress") === "subscribers" ? { publish: middleware(decoded), egress } : { egress }
})

/**
 * Replaces the current loggers by ones whose messages, annotations and causes
 * are masked: for the logs an application writes outside handlers (the bus
 * already masks what its handlers log when the plugin is installed).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Redaction } from "@eventfabric/plugins"
 * const program = Effect.log("signed up a@example.com").pipe(Effect.provide(Redaction.layerLogger()))
 * ```
 * @category layers
 * @since 0.2.0
 */
export const layerLogger = (options?: Options) =>
  Layer.effect(
    References.CurrentLoggers,
    Effect.gen(function* () {
      const redactor = yield* make(options)
      const current = yield* References.CurrentLoggers
      return new Set(Array.from(current, (l) => Egress.logger(redactor, l)))
    })
  )
