/**
 * Selectors: which events a subscription receives.
 *
 * @since 0.1.0
 */
import type { Definition, Payload } from "./Event.ts"

/**
 * A name pattern: segments separated by dots, where `*` matches one segment
 * and `**` one or more.
 *
 * @since 0.1.0
 */
export interface Pattern {
  readonly _tag: "Pattern"
  readonly pattern: string
  readonly regex: RegExp
}

/**
 * One definition, several, or a pattern.
 *
 * @since 0.1.0
 */
export type Selector = Definition | ReadonlyArray<Definition> | Pattern

/**
 * The payload type a selector delivers (`unknown` for patterns).
 *
 * @since 0.1.0
 */
export type PayloadOf<S> = S extends Definition ? Payload<S> : S extends ReadonlyArray<infer D> ? Payload<D> : unknown

/**
 * The event-name type a selector delivers.
 *
 * @since 0.1.0
 */
export type NameOf<S> = S extends Definition<infer N> ? N : S extends ReadonlyArray<Definition<infer N>> ? N : string

const describe = (u: unknown): string => {
  if (u === null) return "null"
  if (Array.isArray(u)) return "an array"
  return typeof u
}

/**
 * Why a value is not a selector, or `undefined` when it is one: the message of
 * the `InvalidOptions` that `subscribe` answers junk with.
 *
 * @example
 * ```ts
 * import { Selector } from "@eventfabric/core"
 * Selector.problem(null) // "Expected a definition, an array of definitions or a pattern, got null\n  at [\"selector\"]"
 * ```
 * @since 0.1.0
 */
export const problem = (u: unknown): string | undefined => {
  const isDefinition = (d: unknown) =>
    typeof d === "object" &&
    d !== null &&
    (d as { _tag?: unknown })._tag === "EventDefinition" &&
    typeof (d as { name?: unknown }).name === "string"
  if (isDefinition(u)) return undefined
  if (Array.isArray(u)) {
    const bad = u.findIndex((d) => !isDefinition(d))
    if (bad === -1) return undefined
    return `Expected a definition made by Event.define, got ${describe(u[bad])}\n  at ["selector"][${bad}]`
  }
  if (
    typeof u === "object" &&
    u !== null &&
    (u as { _tag?: unknown })._tag === "Pattern" &&
    (u as { regex?: unknown }).regex instanceof RegExp
  ) {
    return undefined
  }
  return `Expected a definition, an array of definitions or a pattern, got ${describe(u)}\n  at ["selector"]`
}

const SEGMENT = "[a-z0-9_]+"

const segment = (s: string) => {
  if (s === "**") return `${SEGMENT}(?:\\.${SEGMENT})*`
  if (s === "*") return SEGMENT
  if (!/^[a-z0-9_]+$/.test(s)) throw new TypeError(`invalid pattern segment "${s}"`)
  return s
}

/**
 * A pattern selector.
 *
 * @example
 * ```ts
 * import { Selector } from "@eventfabric/core"
 * const allOrders = Selector.pattern("orders.*")
 * const allFailures = Selector.pattern("*.failed")
 * const everything = Selector.pattern("**")
 * ```
 * @since 0.1.0
 */
export const pattern = (pattern: string): Pattern => {
  const source = pattern.split(".").map(segment).join("\\.")
  return { _tag: "Pattern", pattern, regex: new RegExp(`^${source}$`) }
}

/**
 * Does the selector take events of this type?
 *
 * @example
 * ```ts
 * import { Selector } from "@eventfabric/core"
 * Selector.matches(Selector.pattern("orders.*"), "orders.placed") // true
 * ```
 * @since 0.1.0
 */
export const matches = (selector: Selector, type: string): boolean => {
  if ("_tag" in selector) {
    return selector._tag === "Pattern" ? selector.regex.test(type) : selector.name === type
  }
  return (selector as ReadonlyArray<Definition>).some((d) => d.name === type)
}

/**
 * The definitions a selector names (none for a pattern).
 *
 * @example
 * ```ts
 * import { Selector } from "@eventfabric/core"
 * Selector.definitions(Selector.pattern("orders.*")) // []
 * ```
 * @since 0.1.0
 */
export const definitions = (selector: Selector): ReadonlyArray<Definition> => {
  if ("_tag" in selector) return selector._tag === "Pattern" ? [] : [selector]
  return selector as ReadonlyArray<Definition>
}
