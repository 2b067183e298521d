/**
 * @eventfabric/inspector: a live page for a running bus.
 *
 * @since 0.1.0
 */
export * as Auth from "./Auth.ts"
export * as BusRecords from "./BusRecords.ts"
export * as HandleTime from "./HandleTime.ts"
export * as Inspector from "./Inspector.ts"
export * as Routes from "./Routes.ts"
export * as Sample from "./Sample.ts"
