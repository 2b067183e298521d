/**
 * @eventfabric/redis: the Redis Streams transport and Redis-backed stores for
 * @eventfabric/core.
 *
 * @since 0.1.0
 */
export * as RedisConnection from "./RedisConnection.ts"
export * as RedisDeadLetterStore from "./RedisDeadLetterStore.ts"
export * as RedisDedupStore from "./RedisDedupStore.ts"
export * as RedisErrors from "./RedisErrors.ts"
export * as RedisSchedule from "./RedisSchedule.ts"
export * as RedisTransport from "./RedisTransport.ts"
export * as TransportOptions from "./TransportOptions.ts"
