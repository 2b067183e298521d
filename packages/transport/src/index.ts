/**
 * @eventfabric/transport: the contract every engine implements, and the codec
 * they share.
 *
 * @since 0.1.0
 */
export * as Backoff from "./Backoff.ts"
export * as Codec from "./Codec.ts"
export * as TraceContext from "./TraceContext.ts"
export * as Transport from "./Transport.ts"
