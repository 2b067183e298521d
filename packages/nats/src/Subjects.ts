/**
 * Event types to NATS subjects, and event patterns to subject wildcards.
 *
 * `orders.placed` is published on `<prefix>.orders.placed`. A pattern's `*`
 * (one segment) is NATS's `*`; a trailing `**` (one or more segments, as an
 * event name always has two or more) is NATS's `>`. A `**` before the end has
 * no NATS form: {@link wildcard} answers `undefined` and the consumer filters
 * by the concrete subjects of the definitions the pattern matches.
 *
 * @since 0.1.0
 */

/**
 * The subject of an event type.
 *
 * @example
 * ```ts
 * import { Subjects } from "@eventfabric/nats"
 * Subjects.subject("eventfabric", "orders.placed") // "eventfabric.orders.placed"
 * ```
 * @since 0.1.0
 */
export const subject = (prefix: string, type: string): string => `${prefix}.${type}`

/**
 * The subject wildcard of an event pattern, or `undefined` when NATS cannot
 * express it.
 *
 * @example
 * ```ts
 * import { Subjects } from "@eventfabric/nats"
 * Subjects.wildcard("eventfabric", "orders.*") // "eventfabric.orders.*"
 * Subjects.wildcard("eventfabric", "**") // "eventfabric.>"
 * ```
 * @since 0.1.0
 */
export const wildcard = (prefix: string, pattern: string): string | undefined => {
  const parts = pattern.split(".")
  const out: Array<string> = [prefix]
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    if (part === "**") {
      if (i !== parts.length - 1) return undefined
      // `**` alone also matches two-segment names: `>` matches one or more segments.
      out.push(">")
    } else out.push(part)
  }
  return out.join(".")
}
