/**
 * OpenTelemetry: the `Metric.MetricRegistry` (where the Metrics plugin writes
 * its series) registered as a metric producer with OpenTelemetry reader(s),
 * through `@effect/opentelemetry`.
 *
 * @since 0.2.0
 */
import * as OtelMetrics from "@effect/opentelemetry/OtelMetrics"
import * as OtelResource from "@effect/opentelemetry/Resource"
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import { Layer } from "effect"

/**
 * Registers a metric producer with the reader(s): a
 * `PeriodicExportingMetricReader` with an OTLP exporter in production, an
 * in-memory one in tests.
 *
 * @example
 * ```ts
 * import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
 * import { OpenTelemetry } from "@eventfabric/exporters"
 *
 * const reader = new PeriodicExportingMetricReader({
 *   exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
 *   exportIntervalMillis: 10_000
 * })
 * const Otel = OpenTelemetry.layer(() => reader, { serviceName: "orders" })
 * ```
 * @category layers
 * @since 0.2.0
 */
export const layer = (
  reader: () => MetricReader,
  options?: { readonly serviceName?: string | undefined; readonly temporality?: "cumulative" | "delta" | undefined }
): Layer.Layer<never> =>
  OtelMetrics.layer(reader, { temporality: options?.temporality }).pipe(
    Layer.provide(OtelResource.layer({ serviceName: options?.serviceName ?? "eventfabric" }))
  )
