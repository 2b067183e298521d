/**
 * @eventfabric/transport-conformance: the suite every Transport engine
 * passes, run by each engine's own tests with its own layer.
 *
 * @since 0.1.0
 */
export * as Engine from "./Engine.ts"
export * as RetrySuite from "./RetrySuite.ts"
export * as Suite from "./Suite.ts"
