/**
 * Trace context across the boundary: the W3C `traceparent` of the publishing
 * span, written into the envelope so the consuming process's spans link to it.
 *
 * @since 0.1.0
 */
import type { Tracer } from "effect"

const HEX_TRACE = /^[0-9a-f]{32}$/
const HEX_SPAN = /^[0-9a-f]{16}$/

/**
 * The W3C `traceparent` of a span, when it has W3C-shaped ids.
 *
 * @example
 * ```ts
 * import { TraceContext } from "@eventfabric/transport"
 * TraceContext.traceparentOf(undefined) // undefined
 * ```
 * @since 0.1.0
 */
export const traceparentOf = (span: Tracer.AnySpan | undefined): string | undefined =>
  span !== undefined && HEX_TRACE.test(span.traceId) && HEX_SPAN.test(span.spanId)
    ? `00-${span.traceId}-${span.spanId}-01`
    : undefined
