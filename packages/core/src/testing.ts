/**
 * A test kit for code that publishes and consumes events, in the spirit of
 * an in-memory harness: a layer that records every published, consumed,
 * failed and dead-lettered envelope, with `expectPublished` and
 * `awaitConsumed` to assert on them. Nothing in it reads the wall clock, so
 * it works under `TestClock`.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Effect, Schema } from "effect"
 * import { Event, EventBus } from "@eventfabric/core"
 * import { TestKit } from "@eventfabric/core/testing"
 *
 * const OrderPlaced = Event.define("orders.placed", { payload: Schema.Struct({ orderId: Schema.String }) })
 * const OrderConfirmed = Event.define("orders.confirmed", { payload: Schema.Struct({ orderId: Schema.String }) })
 *
 * it.effect("a placed order is confirmed", () =>
 *   Effect.gen(function*() {
 *     const bus = yield* EventBus.EventBus
 *     const kit = yield* TestKit
 *     yield* bus.subscribe(OrderPlaced, (e) => bus.publish(OrderConfirmed, { orderId: e.payload.orderId }), {
 *       name: "confirmer"
 *     })
 *     yield* bus.publish(OrderPlaced, { orderId: "o-1" })
 *     yield* kit.awaitConsumed("confirmer", (e) => e.payload.orderId === "o-1")
 *     yield* kit.expectPublished(OrderConfirmed, (p) => p.orderId === "o-1")
 *   }).pipe(Effect.provide(TestKit.layerBus()))
 * )
 * ```
 * @since 0.2.0
 */
import { Context, Effect, Exit, Layer, Schema } from "effect"
import type { DeliveryError } from "./Delivery.ts"
import type { Envelope } from "./Envelope.ts"
import type { InvalidOptions } from "./Errors.ts"
import type { Definition, Payload } from "./Event.ts"
import { EventBus } from "./EventBus.ts"
import type { Receipt } from "./Middleware.ts"
import type * as Options from "./Options.ts"
import * as Plugin from "./Plugin.ts"

/**
 * One published event as admission answered it.
 *
 * @since 0.2.0
 */
export interface Published {
  readonly envelope: Envelope
  readonly status: Receipt["status"]
}

/**
 * One delivery that ended: `consumed` (the handler succeeded) or `failed`
 * (after the plugins inside the kit gave up; `deadLettered` when a
 * dead-letter plugin stored it). `envelope` is the one the bus delivered:
 * its `attempt` is the first try's, whatever a `Retry` inside did.
 *
 * @since 0.2.0
 */
export interface Delivered {
  readonly subscription: string
  readonly envelope: Envelope
  readonly error?: DeliveryError | undefined
  readonly deadLettered: boolean
}

/**
 * An expectation of the kit was not met. `message` lists what was recorded.
 *
 * @example
 * ```ts
 * import { ExpectationError } from "@eventfabric/core/testing"
 * new ExpectationError({ message: "no orders.placed published" }).message
 * ```
 * @since 0.2.0
 */
export class ExpectationError extends Schema.TaggedError<ExpectationError>()("ExpectationError", {
  message: Schema.String
}) {}

type SubscriptionRef = string | { readonly name: string }
type ErrorOf<P> = P extends Plugin.Plugin<infer E, any> ? E : never
type ContextOf<P> = P extends Plugin.Plugin<any, infer R> ? R : never

/**
 * The recorder. Install it with `TestKit.layerBus(...)`, or provide
 * `TestKit.layer` and put `TestKit.plugin` first in `Plugin.layer(...)`
 * (outermost, so it sees each delivery's final outcome after retries and
 * the dead-letter queue).
 *
 * @since 0.2.0
 */
export class TestKit extends Context.Service<
  TestKit,
  {
    readonly published: Effect.Effect<ReadonlyArray<Published>>
    readonly consumed: Effect.Effect<ReadonlyArray<Delivered>>
    readonly failed: Effect.Effect<ReadonlyArray<Delivered>>
    readonly deadLettered: Effect.Effect<ReadonlyArray<Delivered>>
    /** The first published envelope of `definition` whose payload passes `predicate`, else `ExpectationError`. */
    readonly expectPublished: <D extends Definition>(
      definition: D,
      predicate?: (payload: Payload<D>, envelope: Envelope<Payload<D>>) => boolean
    ) => Effect.Effect<Envelope<Payload<D>>, ExpectationError>
    /** Fails with `ExpectationError` if an envelope of `definition` passing `predicate` was published. */
    readonly expectNotPublished: <D extends Definition>(
      definition: D,
      predicate?: (payload: Payload<D>) => boolean
    ) => Effect.Effect<void, ExpectationError>
    /** Waits until an envelope of `definition` passing `predicate` is published (or answers one already). */
    readonly awaitPublished: <D extends Definition>(
      definition: D,
      predicate?: (payload: Payload<D>) => boolean
    ) => Effect.Effect<Envelope<Payload<D>>>
    /**
     * Waits until `subscription` has consumed (handled successfully) an
     * envelope passing `predicate`, or answers one it already consumed.
     */
    readonly awaitConsumed: (
      subscription: SubscriptionRef,
      predicate?: (envelope: Envelope<any>) => boolean
    ) => Effect.Effect<Envelope<any>>
    /** Waits until a delivery to `subscription` passing `predicate` failed. */
    readonly awaitFailed: (
      subscription: SubscriptionRef,
      predicate?: (delivered: Delivered) => boolean
    ) => Effect.Effect<Delivered>
    /** Forgets everything recorded so far. */
    readonly clear: Effect.Effect<void>
  }
>()("@eventfabric/core/testing/TestKit") {
  /** The recorder service alone; pair it with `TestKit.plugin`. */
  static readonly layer: Layer.Layer<TestKit> = Layer.sync(TestKit, () => make())

  /** The plugin that feeds the recorder; needs `TestKit` (from `TestKit.layer`). */
  static readonly plugin: Plugin.Plugin<never, TestKit> = Plugin.make(
    "testkit",
    Effect.map(TestKit, (kit) => () => Effect.succeed(hooksOf(kit)))
  )

  /**
   * A bus with the kit installed outermost, then `plugins`, exposing both
   * `EventBus` and `TestKit`.
   */
  static readonly layerBus = <const Ps extends ReadonlyArray<Plugin.Plugin<any, any>>>(
    options?: Options.BusOptions,
    ...plugins: Ps
  ): Layer.Layer<EventBus | TestKit, InvalidOptions | ErrorOf<Ps[number]>, Exclude<ContextOf<Ps[number]>, TestKit>> =>
    EventBus.layer(options).pipe(
      Layer.provide(Plugin.layer(TestKit.plugin, ...plugins)),
      Layer.provideMerge(TestKit.layer)
    ) as any
}

/**
 * @since 0.2.0
 */
export const layer = TestKit.layer

/**
 * @since 0.2.0
 */
export const plugin = TestKit.plugin

/**
 * @since 0.2.0
 */
export const layerBus = TestKit.layerBus

// ---- the recorder ---------------------------------------------------------

interface Recorder {
  readonly record: {
    readonly published: (p: Published) => void
    readonly delivered: (d: Delivered) => void
  }
}

const recorders = new WeakMap<TestKit["Service"], Recorder>()

const nameOf = (ref: SubscriptionRef) => (typeof ref === "string" ? ref : ref.name)

const make = (): TestKit["Service"] => {
  const published: Array<Published> = []
  const consumed: Array<Delivered> = []
  const failed: Array<Delivered> = []
  let waiters: Array<() => void> = []
  const changed = () => {
    const current = waiters
    waiters = []
    for (const w of current) w()
  }
  // Resumes when `find` answers something: checked now, then after each record.
  const awaitFirst = <A>(find: () => A | undefined): Effect.Effect<A> =>
    Effect.callback<A>((resume) => {
      const check = () => {
        const found = find()
        if (found === undefined) return false
        resume(Effect.succeed(found))
        return true
      }
      if (check()) return
      const waiter = () => {
        if (!check()) waiters.push(waiter)
      }
      waiters.push(waiter)
      return Effect.sync(() => {
        waiters = waiters.filter((w) => w !== waiter)
      })
    })
  const ofType = (definition: Definition, predicate: ((payload: any, envelope: any) => boolean) | undefined) =>
    published.find((p) => p.envelope.type === definition.name && (predicate?.(p.envelope.payload, p.envelope) ?? true))
      ?.envelope

  const describe = (definition: Definition) => {
    const same = published.filter((p) => p.envelope.type === definition.name)
    if (same.length === 0) {
      const types = [...new Set(published.map((p) => p.envelope.type))].join(", ")
      return `no ${definition.name} was published (published: ${types === "" ? "nothing" : types})`
    }
    return `none of the ${same.length} ${definition.name} published matched: ${same
      .slice(0, 5)
      .map((p) => JSON.stringify(p.envelope.payload))
      .join(", ")}${same.length > 5 ? ", …" : ""}`
  }

  const kit = TestKit.of({
    published: Effect.sync(() => [...published]),
    consumed: Effect.sync(() => [...consumed]),
    failed: Effect.sync(() => [...failed]),
    deadLettered: Effect.sync(() => failed.filter((d) => d.deadLettered)),
    expectPublished: (definition, predicate) =>
      Effect.suspend(() => {
        const found = ofType(definition, predicate)
        return found === undefined
          ? Effect.fail(new ExpectationError({ message: describe(definition) }))
          : Effect.succeed(found as Envelope<any>)
      }),
    expectNotPublished: (definition, predicate) =>
      Effect.suspend(() => {
        const found = ofType(definition, predicate)
        return found === undefined
          ? Effect.void
          : Effect.fail(
              new ExpectationError({
                message: `${definition.name} was published: ${JSON.stringify(found.payload)}`
              })
            )
      }),
    awaitPublished: (definition, predicate) =>
      awaitFirst(() => ofType(definition, predicate)) as Effect.Effect<Envelope<any>>,
    awaitConsumed: (subscription, predicate) => {
      const name = nameOf(subscription)
      return awaitFirst(
        () => consumed.find((d) => d.subscription === name && (predicate?.(d.envelope) ?? true))?.envelope
      )
    },
    awaitFailed: (subscription, predicate) => {
      const name = nameOf(subscription)
      return awaitFirst(() => failed.find((d) => d.subscription === name && (predicate?.(d) ?? true)))
    },
    clear: Effect.sync(() => {
      published.length = 0
      consumed.length = 0
      failed.length = 0
    })
  })
  recorders.set(kit, {
    record: {
      published: (p) => {
        published.push(p)
        changed()
      },
      delivered: (d) => {
        ;(d.error === undefined ? consumed : failed).push(d)
        changed()
      }
    }
  })
  return kit
}

const hooksOf = (kit: TestKit["Service"]): Plugin.Hooks => {
  const recorder = recorders.get(kit)
  // A TestKit made elsewhere (a hand-written stub) records nothing.
  if (recorder === undefined) return {}
  const { record } = recorder
  return {
    publish: (next) => (envelope, definition) =>
      Effect.tap(next(envelope, definition), (receipt) =>
        Effect.sync(() => record.published({ envelope, status: receipt.status }))
      ),
    delivery: (next) => (delivery) =>
      Effect.onExit(next(delivery), (exit) =>
        Effect.sync(() => {
          const subscription = delivery.subscription.name
          if (Exit.isSuccess(exit))
            return record.delivered({ subscription, envelope: delivery.envelope, deadLettered: false })
          for (const reason of exit.cause.reasons) {
            if (reason._tag !== "Fail") continue
            const e = reason.error
            return e._tag === "DeadLettered"
              ? record.delivered({ subscription, envelope: delivery.envelope, error: e.error, deadLettered: true })
              : record.delivered({ subscription, envelope: delivery.envelope, error: e, deadLettered: false })
          }
          // Interrupted (shutdown, unsubscribe): neither consumed nor failed.
        })
      ),
    undelivered: (delivery, error) =>
      Effect.sync(() => {
        record.delivered({
          subscription: delivery.subscription.name,
          envelope: delivery.envelope,
          error,
          deadLettered: false
        })
        return undefined
      })
  }
}
