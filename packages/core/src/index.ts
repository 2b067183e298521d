/**
 * @eventfabric/core: a typed event fabric for Effect.
 *
 * @since 0.1.0
 */
export * as Delivery from "./Delivery.ts"
export * as Emitter from "./Emitter.ts"
export * as Envelope from "./Envelope.ts"
export * as Errors from "./Errors.ts"
export * as Event from "./Event.ts"
export * as EventBus from "./EventBus.ts"
export * as Facade from "./Facade.ts"
export * as Middleware from "./Middleware.ts"
export * as Options from "./Options.ts"
export * as Plugin from "./Plugin.ts"
export * as Selector from "./Selector.ts"
export * as Stats from "./Stats.ts"
