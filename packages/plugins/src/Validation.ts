/**
 * Validation: every publish is checked before it reaches a lane. The payload
 * must satisfy its definition's Schema (checks included), the name must be
 * `domain.action`, and the domain must be on the allowed list when one is
 * configured. A refused event fails with `Errors.InvalidEvent` carrying
 * Schema's message and path, and the bus counts it `rejected`.
 *
 * Untrusted input (an HTTP body, a message from elsewhere) is published by
 * type name with `publishUnknown`: the name is looked up in a `Registry` of
 * definitions and the body decoded from its encoded form by that definition.
 *
 * @since 0.1.0
 */
import { Errors, Event, type Middleware, Options, Plugin } from "@eventfabric/core"
import { Context, Effect, Result, Schema } from "effect"

/**
 * The plugin's config.
 *
 * - `domains`: when set, only events whose first name segment is listed pass.
 * - `naming`: enforce `domain.action` names at publish (default true).
 *   Literal names are checked at compile time; this catches names built at
 *   run time and hand-made definitions.
 * - `payloads`: validate payloads against their Schema (default true).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Validation } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(Validation.Config)({ domains: ["orders", "billing"] })
 * ```
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  domains: Schema.optional(
    Schema.Array(
      Schema.String.check(
        Schema.isPattern(/^[a-z][a-z0-9_]*$/, {
          expected: "a lowercase domain name (letters, digits, _)"
        })
      )
    )
  ),
  naming: Schema.optional(Schema.Boolean),
  payloads: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 */
export type Config = typeof Config.Encoded

const decodeName = Schema.decodeUnknownResult(Event.EventName)

type Check = (input: unknown) => Result.Result<unknown, Schema.SchemaError>

// One validator per payload Schema, on its Type side: what `publish` receives
// is already the decoded value (a `DateTimeUtc`, not its string).
const typeCheckers = new WeakMap<Event.PayloadSchema, Check>()
const typeChecker = (schema: Event.PayloadSchema): Check => {
  let check = typeCheckers.get(schema)
  if (check === undefined) {
    const decode = Schema.decodeUnknownResult(Schema.toType(schema))
    check = (input) => decode(input, { errors: "all" }) as Result.Result<unknown, Schema.SchemaError>
    typeCheckers.set(schema, check)
  }
  return check
}

/**
 * Checks one publish as the plugin does, without a bus: the payload against its
 * definition, the name and the domain.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 * import { Validation } from "@eventfabric/plugins"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ total: Schema.Number }) })
 * const check = Validation.validator({ domains: ["orders"] })
 * check(Placed.name, Placed, { total: "7" }) // InvalidEvent: Expected number at ["total"]
 * ```
 * @since 0.1.0
 */
export const validator = (config: typeof Config.Type) => {
  const domains = config.domains === undefined ? undefined : new Set(config.domains)
  const naming = config.naming ?? true
  const payloads = config.payloads ?? true
  return (type: string, definition: Event.Definition, payload: unknown): Errors.InvalidEvent | undefined => {
    if (naming) {
      const name = decodeName(type)
      if (Result.isFailure(name)) return new Errors.InvalidEvent({ type, message: name.failure.message })
    }
    if (domains !== undefined) {
      const domain = type.slice(0, type.indexOf("."))
      if (!domains.has(domain)) {
        return new Errors.InvalidEvent({
          type,
          message: `Expected a domain in [${[...domains].join(", ")}], got "${domain}"\n  at ["type"]`
        })
      }
    }
    if (payloads) {
      const checked = typeChecker(definition.payload)(payload)
      if (Result.isFailure(checked)) {
        return new Errors.InvalidEvent({ type, message: prefixPath(checked.failure.message) })
      }
    }
    return undefined
  }
}

// Schema paths are relative to the payload; say so.
const prefixPath = (message: string) =>
  message.replace(/\n {2}at \[/g, '\n  at ["payload"][').replace(/^(Expected[^\n]*)$/, '$1\n  at ["payload"]')

/**
 * A rejection decided before admission (`publishUnknown`), carried to the
 * Validation middleware so that the bus counts it `rejected`.
 */
const PendingRejection = Context.Reference<Errors.InvalidEvent | undefined>(
  "@eventfabric/plugins/Validation/PendingRejection",
  { defaultValue: () => undefined }
)

// Publish functions of buses that run the Validation plugin: `publishUnknown`
// routes its rejections through them so they are counted.
const validatedBuses = new WeakSet<object>()

/**
 * The publish middleware alone, for buses assembled by hand.
 *
 * @example
 * ```ts
 * import { Validation } from "@eventfabric/plugins"
 * const middleware = Validation.middleware({ domains: ["orders"] })
 * ```
 * @since 0.1.0
 */
export const middleware = (config: typeof Config.Type): Middleware.PublishMiddleware => {
  const check = validator(config)
  return (next) => (envelope, definition) =>
    Effect.flatMap(PendingRejection, (pending) => {
      if (pending !== undefined) return Effect.fail(pending)
      const error = check(envelope.type, definition, envelope.payload)
      return error === undefined ? next(envelope, definition) : Effect.fail(error)
    })
}

/**
 * The Validation plugin. Put it first (outermost) so that nothing downstream
 * sees an invalid event.
 *
 * @example
 * ```ts
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { Layer } from "effect"
 * import { Validation } from "@eventfabric/plugins"
 *
 * const Bus = EventBus.EventBus.layer().pipe(Layer.provide(Plugin.layer(Validation.plugin({ domains: ["orders"] }))))
 * ```
 * @since 0.1.0
 */
export const plugin = (config?: Config) =>
  Plugin.make(
    "validation",
    Effect.map(Options.decode(Config, "Validation", config), (decoded) => {
      const publish = middleware(decoded)
      return (bus: Plugin.BusHandle) =>
        Effect.sync(() => {
          validatedBuses.add(bus.publish)
          return { publish }
        })
    })
  )

/**
 * Definitions by name: how untrusted input finds its Schema.
 *
 * @since 0.1.0
 */
export interface Registry {
  readonly definitions: ReadonlyMap<string, Event.Definition>
  readonly get: (type: string) => Event.Definition | undefined
}

/**
 * Makes a registry. Two definitions with one name are a programming error and
 * throw.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Event } from "@eventfabric/core"
 * import { Validation } from "@eventfabric/plugins"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ total: Schema.Number }) })
 * const registry = Validation.registry(Placed)
 * registry.get("orders.placed") === Placed // true
 * ```
 * @since 0.1.0
 */
export const registry = (...definitions: ReadonlyArray<Event.Definition>): Registry => {
  const map = new Map<string, Event.Definition>()
  for (const d of definitions) {
    if (map.has(d.name) && map.get(d.name) !== d) throw new TypeError(`two definitions named ${d.name}`)
    map.set(d.name, d)
  }
  return { definitions: map, get: (type) => map.get(type) }
}

const encodedDecoders = new WeakMap<Event.PayloadSchema, Check>()
const encodedDecoder = (schema: Event.PayloadSchema): Check => {
  let decode = encodedDecoders.get(schema)
  if (decode === undefined) {
    const run = Schema.decodeUnknownResult(schema)
    decode = (input) => run(input, { errors: "all" }) as Result.Result<unknown, Schema.SchemaError>
    encodedDecoders.set(schema, decode)
  }
  return decode
}

/**
 * Publishes untrusted input by type name: the body is decoded from its encoded
 * (JSON) form by the registered definition. An unknown type or an invalid body
 * fails with `InvalidEvent` naming the path; on a bus that runs the Validation
 * plugin the refusal is counted `rejected`, like any other.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event, EventBus } from "@eventfabric/core"
 * import { Validation } from "@eventfabric/plugins"
 *
 * const Placed = Event.define("orders.placed", { payload: Schema.Struct({ total: Schema.Number }) })
 * const registry = Validation.registry(Placed)
 * const onHttpBody = (type: string, body: unknown) =>
 *   Effect.flatMap(EventBus.EventBus, (bus) => Validation.publishUnknown(bus, registry, type, body))
 * ```
 * @since 0.1.0
 */
export const publishUnknown = (
  bus: Pick<Plugin.BusHandle, "publish">,
  registry: Registry,
  type: string,
  body: unknown,
  options?: Plugin.PublishOptions
): Effect.Effect<Middleware.Receipt, Errors.PublishError> =>
  Effect.suspend(() => {
    // Untrusted input: a type that is not a string is refused like an unknown one.
    if (typeof type !== "string") {
      const got = type === null ? "null" : Array.isArray(type) ? "an array" : typeof type
      const error = new Errors.InvalidEvent({
        type: "(unknown)",
        message: `Expected a string (an event type name), got ${got}\n  at ["type"]`
      })
      if (!validatedBuses.has(bus.publish)) return Effect.fail(error)
      return bus
        .publish(unknownDefinition("invalid.type"), undefined, options)
        .pipe(Effect.provideService(PendingRejection, error))
    }
    const definition = registry.get(type)
    let error: Errors.InvalidEvent | undefined
    if (definition === undefined) {
      error = new Errors.InvalidEvent({
        type,
        message: `Expected a registered event type, got "${type}"\n  at ["type"]`
      })
    } else {
      const decoded = encodedDecoder(definition.payload)(body)
      if (Result.isSuccess(decoded)) return bus.publish(definition, decoded.success, options)
      error = new Errors.InvalidEvent({ type, message: prefixPath(decoded.failure.message) })
    }
    if (!validatedBuses.has(bus.publish)) return Effect.fail(error)
    // Let the bus see the refusal, so that it is counted.
    const carrier = definition ?? unknownDefinition(type)
    return bus.publish(carrier, undefined, options).pipe(Effect.provideService(PendingRejection, error))
  })

const unknownDefinition = (type: string): Event.Definition => ({
  _tag: "EventDefinition",
  name: type,
  payload: Schema.Unknown,
  priority: "normal",
  key: undefined,
  batchable: false
})
