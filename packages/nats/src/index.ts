/**
 * @eventfabric/nats: the NATS JetStream transport for @eventfabric/core.
 *
 * @since 0.1.0
 */
export * as NatsConnection from "./NatsConnection.ts"
export * as NatsErrors from "./NatsErrors.ts"
export * as NatsOptions from "./NatsOptions.ts"
export * as NatsSchedule from "./NatsSchedule.ts"
export * as NatsTransport from "./NatsTransport.ts"
export * as Subjects from "./Subjects.ts"
