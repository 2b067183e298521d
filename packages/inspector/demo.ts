/**
 * A demo bus with traffic, and the inspector on it:
 *
 *   pnpm inspect                      # prints the URL and the token
 *   PORT=9400 EVENTFABRIC_INSPECTOR_TOKEN=s3cret pnpm inspect
 *
 * Traffic: orders (keyed per customer; 5% fail their first try, retried
 * once), sign-up mails to a slow subscriber whose dropping mailbox fills,
 * refuses and drains, payments through a
 * gateway that goes down for 12 s of every 40 (from 3 s in) (its circuit trips, probes,
 * closes), reports that sometimes time out, and LOW telemetry on a sliding
 * lane that evicts under bursts. Stops cleanly on SIGINT / SIGTERM.
 *
 * `demoLayer` is the same bus for the browser tests and the screenshot.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { NodeRuntime } from "@effect/platform-node"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { CircuitBreaker, DeadLetter, DeadLetterQueue, Redaction, Retry } from "@eventfabric/plugins"
import { Cause, Config, Effect, Exit, Layer, Option, Redacted, Runtime, Schedule, Schema } from "effect"
import { HandleTime, Inspector, Routes } from "./src/index.ts"

export const OrderPlaced = Event.define("orders.placed", {
  payload: Schema.Struct({ orderId: Schema.String, email: Schema.String, total: Schema.Number })
})
export const SignedUp = Event.define("users.signed_up", {
  payload: Schema.Struct({ userId: Schema.String, email: Schema.String })
})
export const PaymentCharged = Event.define("payments.charged", {
  payload: Schema.Struct({ paymentId: Schema.String, card: Schema.String, amount: Schema.Number }),
  priority: "critical"
})
export const ReportRequested = Event.define("reports.requested", {
  payload: Schema.Struct({ reportId: Schema.String })
})
export const Telemetry = Event.define("telemetry.sampled", {
  payload: Schema.Struct({ host: Schema.String, cpu: Schema.Number }),
  priority: "low"
})

/** The bus: DeadLetter outermost, CircuitBreaker, Retry, then handle times of each try. */
export const Bus = EventBus.EventBus.layer({
  lanes: { low: { capacity: 512, strategy: "sliding" } },
  // A demo stops promptly: what is still queued after a second is interrupted and counted.
  shutdownGrace: "1 second"
}).pipe(
  Layer.provide(
    Plugin.layer(
      DeadLetter.plugin(),
      CircuitBreaker.plugin({ failures: 5, openDuration: "4 seconds" }),
      Retry.plugin({ times: 1, base: "5 millis" }),
      HandleTime.plugin()
    )
  ),
  Layer.provideMerge(DeadLetterQueue.layerMemory({ capacity: 5_000 })),
  Layer.provideMerge(HandleTime.HandleTimes.layer),
  Layer.provideMerge(Redaction.Redactor.layer())
)

/** Is the payment gateway down (12 s of every 40, from 3 s after `start`)? */
const gatewayDown = (start: number, now: number) => (now - start - 3_000 + 40_000) % 40_000 < 12_000

/**
 * The subscriptions. The tests steer fulfilment: `failOrder` makes chosen
 * orders fail, `delivered` hears each order fulfilled.
 */
export interface Hooks {
  readonly failOrder?: ((orderId: string) => boolean) | undefined
  readonly delivered?: ((orderId: string, attempt: number) => void) | undefined
}

export const Subscribers = (hooks: Hooks = {}) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      const start = yield* Effect.clockWith((c) => c.currentTimeMillis)
      yield* bus.subscribe(
        OrderPlaced,
        (e) =>
          hooks.failOrder?.(e.payload.orderId) === true || (e.attempt === 1 && e.payload.total % 20 === 0)
            ? Effect.fail(new Error(`warehouse rejected ${e.payload.orderId} for ${e.payload.email}`))
            : Effect.sync(() => hooks.delivered?.(e.payload.orderId, e.attempt)),
        // Keyed: one customer's orders are fulfilled in the order they were placed.
        { name: "fulfilment", concurrency: 4, orderBy: (e) => e.payload.email }
      )
      // Isolation: a full mailer mailbox refuses (counted, dead-lettered) rather than hold the NORMAL lane.
      yield* bus.subscribe(SignedUp, () => Effect.sleep("25 millis"), {
        name: "welcome-mailer",
        mailbox: { capacity: 256, strategy: "dropping" }
      })
      yield* bus.subscribe(
        PaymentCharged,
        () =>
          Effect.flatMap(
            Effect.clockWith((c) => c.currentTimeMillis),
            (now) => (gatewayDown(start, now) ? Effect.fail(new Error("gateway 503")) : Effect.sleep("2 millis"))
          ),
        { name: "payment-gateway", concurrency: 2 }
      )
      yield* bus.subscribe(
        ReportRequested,
        (e) => Effect.sleep(e.payload.reportId.endsWith("7") ? "400 millis" : "20 millis"),
        { name: "report-builder", timeout: "250 millis", concurrency: 4 }
      )
      yield* bus.subscribe(Telemetry, () => Effect.void, { name: "telemetry-sink" })
    })
  )

/** Publishes a mix every 100 ms until the scope closes; `burst` telemetry events per tick at the wave's top. */
export const Traffic = (burst = 600) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const bus = yield* EventBus.EventBus
      let n = 0
      const tick = Effect.gen(function* () {
        const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
        const wave = (Math.sin(now / 8_000) + 1) / 2 // 0..1 over ~50 s
        for (let i = 0; i < 20; i++) {
          n++
          yield* bus.publish(OrderPlaced, { orderId: `o-${n}`, email: `buyer${n}@example.com`, total: n % 97 })
        }
        for (let i = 0; i < Math.round(1 + wave * 6); i++) {
          yield* bus.publish(SignedUp, { userId: `u-${n}-${i}`, email: `new${n}.${i}@example.org` })
        }
        for (let i = 0; i < 3; i++) {
          yield* bus.publish(PaymentCharged, { paymentId: `p-${n}-${i}`, card: "4111 1111 1111 1111", amount: 42 })
        }
        yield* bus.publish(ReportRequested, { reportId: `r-${n}` })
        const telemetry = wave > 0.8 ? burst : 40
        for (let i = 0; i < telemetry; i++) yield* bus.publish(Telemetry, { host: `web-${i % 8}`, cpu: (i * 7) % 100 })
      })
      yield* tick.pipe(Effect.ignore, Effect.repeat(Schedule.spaced("100 millis")), Effect.forkScoped)
    })
  )

/** Bus, subscribers, traffic and the inspector on `127.0.0.1:port`. */
export const demoLayer = (options: {
  readonly port: number
  readonly token: Redacted.Redacted<string> | undefined
  readonly hooks?: Hooks | undefined
  /** Telemetry events per tick at the top of the wave (default 600; the tests use less, to share the CPU). */
  readonly burst?: number | undefined
}) =>
  Layer.mergeAll(
    Routes.layerServer({ port: options.port, token: options.token }),
    Subscribers(options.hooks),
    Traffic(options.burst)
  ).pipe(Layer.provideMerge(Bus))

const main = Effect.gen(function* () {
  const port = yield* Config.Int("PORT").pipe(Config.withDefault(9400))
  const configured = yield* Inspector.TokenConfig
  const token = Option.getOrElse(configured, () => Redacted.make(randomBytes(12).toString("base64url")))
  return yield* Layer.launch(
    Layer.effectDiscard(
      Effect.gen(function* () {
        yield* Effect.logInfo(`token (for retry / purge): ${Redacted.value(token)}`)
        yield* Effect.logInfo("Ctrl-C stops the demo")
        yield* Effect.logInfo(`inspector: ${yield* Routes.url}`)
      })
    ).pipe(Layer.provideMerge(demoLayer({ port, token })))
  )
})

// Stopping the demo is its normal end: exit 0 on SIGINT / SIGTERM (the default is 130), 1 on a failure.
const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

if (import.meta.main) NodeRuntime.runMain(main, { teardown })
