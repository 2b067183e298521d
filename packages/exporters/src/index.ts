/**
 * @eventfabric/exporters: where the series of `@eventfabric/plugins`
 * Metrics go. Apart from the plugins so that a program that only wants Retry
 * installs neither OpenTelemetry nor platform-node.
 *
 * @since 0.2.0
 */

export * as OpenTelemetry from "./OpenTelemetry.ts"
export * as Prometheus from "./Prometheus.ts"
