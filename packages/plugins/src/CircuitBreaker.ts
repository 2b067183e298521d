/**
 * CircuitBreaker: one circuit per subscription, a synchronous state machine
 * in the process (no Effect, no Scope and no allocation per delivery while
 * closed). With `shared: true`, the circuits live in the `effect/persistence`
 * `CircuitBreakerStore` found in context instead (e.g. its Redis store), so
 * that several processes share them; that path costs a Scope and a store
 * round trip per delivery.
 *
 * - Trips on `failures` consecutive failed deliveries, on a failure rate over
 *   the last `failureRate.size` deliveries, or both (then two persistence
 *   circuits guard the subscription and either one open rejects), and counts
 *   a delivery slower than `slowCall` as a failure even when it succeeded.
 * - While open, deliveries fail `Delivery.CircuitOpen` without running the
 *   handler (counted `rejected`; stored with reason `CircuitOpen` by an outer
 *   DeadLetter plugin). After `openDuration` the next delivery is the probe:
 *   its success closes the circuit, its failure reopens it (for longer, up to
 *   `maxOpenDuration`, when that is set).
 * - Publishes `system.circuit_opened` / `system.circuit_closed` on the
 *   CRITICAL lane through the bus handle.
 *
 * **Order.** Place it outside Retry and inside DeadLetter:
 * `Plugin.layer(DeadLetter.plugin(), CircuitBreaker.plugin(), Retry.plugin())`.
 * Outside Retry, the breaker sees one outcome per delivery (a delivery that a
 * retry rescued is a success; one that exhausted its retries is one failure),
 * as `effect/persistence` recommends, and Retry never spins on an open
 * circuit. The cost: `slowCall` measures the whole delivery, retries and
 * their backoff included; give it a threshold above your retry budget, or put
 * the breaker inside Retry if you want per-try accounting.
 *
 * Circuits live in the bus's process unless `shared: true`, which keeps them
 * in the `CircuitBreakerStore` found in context (a memory store when there is
 * none).
 *
 * @since 0.1.0
 */
import type { Middleware } from "@eventfabric/core"
import { Options as CoreOptions, Delivery, Event, Plugin } from "@eventfabric/core"
import { Clock, Duration, Effect, Schema } from "effect"
import { Circuit, type Policy, type Transition, verdictOf } from "./internal/circuit.ts"
import { sharedMiddleware } from "./internal/sharedCircuit.ts"

/**
 * Published when a subscription's circuit opens (from closed: a failed probe
 * keeps it open and publishes nothing new).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EventBus } from "@eventfabric/core"
 * import { CircuitBreaker } from "@eventfabric/plugins"
 *
 * const page = Effect.gen(function*() {
 *   const bus = yield* EventBus.EventBus
 *   yield* bus.subscribe(CircuitBreaker.CircuitOpened, (e) => Effect.logWarning(`${e.payload.subscription} open`))
 * })
 * ```
 * @since 0.1.0
 */
export const CircuitOpened = Event.define("system.circuit_opened", {
  payload: Schema.Struct({
    subscription: Schema.String,
    /** Which policy tripped. */
    trigger: Schema.Literals(["consecutive", "rate"]),
    /** How long the circuit stays open before a probe, in milliseconds. */
    retryAfterMillis: Schema.Number,
    consecutiveOpenings: Schema.Number
  }),
  priority: "critical"
})

/**
 * Published when a subscription's circuit closes again (a probe succeeded).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { EventBus } from "@eventfabric/core"
 * import { CircuitBreaker } from "@eventfabric/plugins"
 *
 * const log = Effect.gen(function*() {
 *   const bus = yield* EventBus.EventBus
 *   yield* bus.subscribe(CircuitBreaker.CircuitClosed, (e) => Effect.log(`${e.payload.subscription} closed`))
 * })
 * ```
 * @since 0.1.0
 */
export const CircuitClosed = Event.define("system.circuit_closed", {
  payload: Schema.Struct({ subscription: Schema.String }),
  priority: "critical"
})

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

const FailureRate = Schema.Struct({
  /** Fraction of failed deliveries, in [0, 1], that opens the circuit. */
  threshold: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
  /** Deliveries remembered (default 20). */
  size: Schema.optional(PositiveInt),
  /** Deliveries recorded before the rate counts (default `size`). */
  minimumCalls: Schema.optional(PositiveInt)
}).check(
  Schema.makeFilter((rate) =>
    rate.minimumCalls !== undefined && rate.minimumCalls > (rate.size ?? 20)
      ? { path: ["minimumCalls"], issue: "minimumCalls must not exceed size" }
      : undefined
  )
)

/**
 * The plugin's options, decoded when its layer builds.
 *
 * - `failures`: consecutive failed deliveries that open the circuit (default
 *   5 when `failureRate` is not set).
 * - `failureRate`: `{ threshold, size?, minimumCalls? }`, a rate policy.
 * - `slowCall`: a delivery at least this long counts as a failure.
 * - `openDuration`: open time before the probe (default 30 s).
 * - `maxOpenDuration`: when set, the open time doubles on each consecutive
 *   opening, up to this.
 * - `shared`: keep the circuits in the `effect/persistence`
 *   `CircuitBreakerStore` in context, shared between processes (default
 *   false: in-process).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { CircuitBreaker } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(CircuitBreaker.Options)({ failures: 5, slowCall: "250 millis" })
 * ```
 * @category options
 * @since 0.2.0
 */
export const Options = Schema.Struct({
  failures: Schema.optional(PositiveInt),
  failureRate: Schema.optional(FailureRate),
  slowCall: Schema.optional(CoreOptions.DurationInput),
  openDuration: Schema.optional(CoreOptions.DurationInput),
  maxOpenDuration: Schema.optional(CoreOptions.DurationInput),
  shared: Schema.optional(Schema.Boolean)
})

/**
 * @category options
 * @since 0.2.0
 */
export type Options = typeof Options.Encoded

/** The decoded options as the state machine's policy. */
const policyOf = (options: typeof Options.Type): Policy => {
  const openMillis = Duration.toMillis(options.openDuration ?? Duration.seconds(30))
  const size = options.failureRate?.size ?? 20
  return {
    failures: options.failures ?? (options.failureRate === undefined ? 5 : undefined),
    rate:
      options.failureRate === undefined
        ? undefined
        : { threshold: options.failureRate.threshold, size, minimumCalls: options.failureRate.minimumCalls ?? size },
    openMillis,
    maxOpenMillis: options.maxOpenDuration === undefined ? undefined : Duration.toMillis(options.maxOpenDuration)
  }
}

const localMiddleware = (
  policy: Policy,
  slowMillis: number | undefined,
  clock: Clock.Clock,
  announce: (subscription: string, transition: Transition) => void
): Middleware.DeliveryMiddleware => {
  const circuits = new Map<string, Circuit>()
  return (next) => (d) => {
    const name = d.subscription.name
    let circuit = circuits.get(name)
    if (circuit === undefined) circuits.set(name, (circuit = new Circuit(policy)))
    const c = circuit
    // Closed and no slow-call policy: no clock read on the way in.
    const start = c.closed && slowMillis === undefined ? 0 : clock.currentTimeMillisUnsafe()
    if (!c.admit(start)) return Effect.fail(new Delivery.CircuitOpen({ subscription: name }))
    // `onExit`, not a match: an interrupted probe must still release the
    // half-open slot, and only a finalizer runs when the fiber is interrupted.
    return Effect.onExit(next(d), (exit) => {
      const now = slowMillis === undefined && c.closed ? 0 : clock.currentTimeMillisUnsafe()
      let verdict = verdictOf(exit)
      if (verdict === "success" && slowMillis !== undefined && now - start >= slowMillis) verdict = "failure"
      // An opening needs the time; record reads it only when one is possible.
      const transition = c.record(verdict, verdict === "failure" && now === 0 ? clock.currentTimeMillisUnsafe() : now)
      if (transition !== undefined) announce(name, transition)
      return Effect.void
    })
  }
}

/**
 * The CircuitBreaker plugin.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { CircuitBreaker, DeadLetter, DeadLetterQueue, Retry } from "@eventfabric/plugins"
 *
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(
 *     DeadLetter.plugin(),
 *     CircuitBreaker.plugin({ failures: 5, slowCall: "2 seconds", openDuration: "30 seconds" }),
 *     Retry.plugin({ times: 3 })
 *   )),
 *   Layer.provideMerge(DeadLetterQueue.layerMemory())
 * )
 * ```
 * @category plugins
 * @since 0.1.0
 */
export const plugin = Plugin.configured("CircuitBreaker", Options, (decoded) =>
  Effect.gen(function* () {
    const policy = policyOf(decoded)
    const slowMillis = decoded.slowCall === undefined ? undefined : Duration.toMillis(decoded.slowCall)
    const shared = decoded.shared === true ? yield* sharedMiddleware(policy, slowMillis) : undefined
    // Needs the bus handle: it publishes the circuit events.
    return Effect.fnUntraced(function* (bus: Plugin.BusHandle) {
      // A transition is announced from its own fiber (rare: one per opening
      // or closing), so a full CRITICAL lane never holds up the delivery.
      const run = Effect.runForkWith(yield* Effect.context<never>())
      const publish = <D extends Event.Definition>(definition: D, payload: Event.Payload<D>) => {
        run(Effect.ignore(bus.publish(definition, payload)))
      }
      const announce = (subscription: string, transition: Transition) => {
        if (transition.to === "open") {
          publish(CircuitOpened, {
            subscription,
            trigger: transition.trigger,
            retryAfterMillis: transition.openFor,
            consecutiveOpenings: transition.openings
          })
        } else publish(CircuitClosed, { subscription })
      }
      const delivery =
        shared === undefined
          ? localMiddleware(policy, slowMillis, yield* Clock.Clock, announce)
          : yield* shared(announce)
      return { delivery } satisfies Plugin.Hooks
    })
  })
)
