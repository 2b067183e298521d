/**
 * Egress: what the bus and its plugins apply to anything that leaves the
 * process — dead letters, audit lines, `system.handler_error` payloads and
 * rendered causes, span attributes, log lines, transport messages. A plugin
 * contributes one through its hooks (the Redaction plugin does); with none
 * installed it is the identity and costs one call.
 *
 * @since 0.2.0
 */
import { Cause, Context, type Fiber, Logger, References } from "effect"
import type { Envelope } from "./Envelope.ts"

/**
 * Masks what leaves. Each function returns its input (the same reference)
 * when there is nothing to mask.
 *
 * @category models
 * @since 0.2.0
 */
export interface Egress {
  /** The envelope with payload, headers, `source` and `correlationId` masked. */
  readonly envelope: <A>(envelope: Envelope<A>) => Envelope<A>
  /** Any value, deep. */
  readonly value: (u: unknown) => unknown
  /** One string: a log line, a rendered cause, an attribute. */
  readonly string: (s: string) => string
}

/**
 * Lets everything through unchanged.
 *
 * @example
 * ```ts
 * import { Egress } from "@eventfabric/core"
 * Egress.none.string("a@example.com") // "a@example.com"
 * ```
 * @category constructors
 * @since 0.2.0
 */
export const none: Egress = { envelope: (e) => e, value: (u) => u, string: (s) => s }

/**
 * Applies several egress filters in order; `none` when the list is empty.
 *
 * @example
 * ```ts
 * import { Egress } from "@eventfabric/core"
 * const upper: Egress.Egress = { envelope: (e) => e, value: (u) => u, string: (s) => s.toUpperCase() }
 * Egress.all([upper, Egress.none]).string("ok") // "OK"
 * ```
 * @category combinators
 * @since 0.2.0
 */
export const all = (filters: ReadonlyArray<Egress>): Egress => {
  if (filters.length === 0) return none
  if (filters.length === 1) return filters[0]!
  return {
    envelope: (e) => filters.reduce((acc, f) => f.envelope(acc), e),
    value: (u) => filters.reduce((acc, f) => f.value(acc), u),
    string: (s) => filters.reduce((acc, f) => f.string(acc), s)
  }
}

// A logger reads annotations from the fiber it is given; this view of the
// fiber answers masked annotations and forwards everything else.
const fiberView = (fiber: Fiber.Fiber<unknown, unknown>, egress: Egress): Fiber.Fiber<unknown, unknown> => {
  const annotations = fiber.getRef(References.CurrentLogAnnotations)
  const masked = egress.value(annotations)
  if (masked === annotations) return fiber
  return new Proxy(fiber, {
    get(target, key) {
      if (key === "getRef") {
        return (ref: Context.Key<unknown, unknown>) =>
          ref === (References.CurrentLogAnnotations as unknown) ? masked : target.getRef(ref as never)
      }
      const value = Reflect.get(target, key, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
}

// A logged cause is rendered with its errors' messages, which often echo a
// payload: a cause whose rendering would change is logged as its masked text.
const maskCause = (cause: Cause.Cause<unknown>, egress: Egress): Cause.Cause<unknown> => {
  if (cause.reasons.length === 0) return cause
  const text = Cause.pretty(cause)
  const masked = egress.string(text)
  return masked === text ? cause : Cause.die(masked)
}

/**
 * Wraps a logger so that messages, annotations and the logged cause pass
 * through `egress` first.
 *
 * @example
 * ```ts
 * import { Logger } from "effect"
 * import { Egress } from "@eventfabric/core"
 * declare const egress: Egress.Egress
 * const safe = Egress.logger(egress, Logger.consoleLogFmt)
 * ```
 * @category loggers
 * @since 0.2.0
 */
export const logger = <Output>(egress: Egress, inner: Logger.Logger<unknown, Output>): Logger.Logger<unknown, Output> =>
  Logger.make((options) =>
    inner.log({
      ...options,
      message: egress.value(options.message),
      cause: maskCause(options.cause, egress),
      fiber: fiberView(options.fiber, egress)
    })
  )

/**
 * Wraps every logger in a context (its `CurrentLoggers`) with `logger`.
 *
 * @example
 * ```ts
 * import { Context } from "effect"
 * import { Egress } from "@eventfabric/core"
 * declare const egress: Egress.Egress
 * const masked = Egress.withLoggers(Context.empty(), egress)
 * ```
 * @category loggers
 * @since 0.2.0
 */
export const withLoggers = <R>(context: Context.Context<R>, egress: Egress): Context.Context<R> => {
  if (egress === none) return context
  const loggers = Context.get(context, References.CurrentLoggers)
  return Context.add(context, References.CurrentLoggers, new Set(Array.from(loggers, (l) => logger(egress, l))))
}
