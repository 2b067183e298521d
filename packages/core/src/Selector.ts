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
