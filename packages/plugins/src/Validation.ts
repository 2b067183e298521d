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
import { Errors, Event, type Middleware, Plugin } from "@eventfabric/core"
import { Effect, Result, Schema } from "effect"

/**
 * The plugin's options.
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
 * Schema.decodeUnknownSync(Validation.Options)({ domains: ["orders", "billing"] })
 * ```
 * @category options
 * @since 0.2.0
 */
export const Options = Schema.Struct({
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
 * @category options
 * @since 0.2.0
 */
export type Options = typeof Options.Encoded

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
export const validator = (options: typeof Options.Type) => {
  const domains = options.domains === undefined ? undefined : new Set(options.domains)
  const naming = options.naming ?? true
  const payloads = options.payloads ?? true
  // The name and domain checks depend on the type only: remember the names
  // that passed (bounded: forgotten all at once past 4096 names).
  const passed = new Set<string>()
  const checkName = (type: string): Errors.InvalidEvent | undefined => {
    if (passed.has(type)) return undefined
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
    if (passed.size >= 4096) passed.clear()
    passed.add(type)
    return undefined
  }
  return (type: string, definition: Event.Definition, payload: unknown): Errors.InvalidEvent | undefined => {
    const named = checkName(type)
    if (named !== undefined) return named
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
 * Validation middleware on the definition it publishes with, so that the bus
 * counts it `rejected`. (It was a context entry, read on every publish.)
 */
const RejectionAnnotation = "@eventfabric/plugins/Validation/rejection"

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
export const middleware = (options: typeof Options.Type): Middleware.PublishMiddleware => {
  const check = validator(options)
  return (next) => (envelope, definition) => {
    const error =
      (definition.annotations?.[RejectionAnnotation] as Errors.InvalidEvent | undefined) ??
      check(envelope.type, definition, envelope.payload)
    return error === undefined ? next(envelope, definition) : Effect.fail(error)
  }
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
 * @category plugins
 * @since 0.1.0
 */
export const plugin = Plugin.configured("Validation", Options, (decoded) => {
  // Needs the bus handle: `publishUnknown` routes rejections through the
  // publish of buses that run this plugin.
  const publish = middleware(decoded)
  return (bus: Plugin.BusHandle) =>
    Effect.sync(() => {
      validatedBuses.add(bus.publish)
      return { publish }
    })
})

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
      const carrier = Event.annotate(unknownDefinition("invalid.type"), { [RejectionAnnotation]: error })
      return bus.publish(carrier, undefined, options)
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
    const carrier = Event.annotate(definition ?? unknownDefinition(type), { [RejectionAnnotation]: error })
    return bus.publish(carrier, undefined, options)
  })

const unknownDefinition = (type: string): Event.Definition => ({
  _tag: "EventDefinition",
  name: type,
  payload: Schema.Unknown,
  priority: "normal",
  key: undefined,
  batchable: false
})
