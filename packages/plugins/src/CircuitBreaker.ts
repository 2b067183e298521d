/**
 * CircuitBreaker: one circuit per subscription, built on the
 * `effect/persistence` `CircuitBreaker` (its store, trip policies, half-open
 * probe and open-time backoff), not on a state machine of its own.
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
 * State lives in the `CircuitBreakerStore` found in context (e.g.
 * `layerStoreRedis` to share circuits between processes); without one, each
 * bus gets a memory store.
 *
 * @since 0.1.0
 */
import type { Errors, Middleware } from "@eventfabric/core"
import { Delivery, Event, Options, Plugin } from "@eventfabric/core"
import { Cause, Context, Duration, Effect, Exit, Layer, Option, Schedule, Schema, Stream } from "effect"
import { CircuitBreaker as Breaker } from "effect/persistence"

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
 * The plugin's config, decoded when its layer builds.
 *
 * - `failures`: consecutive failed deliveries that open the circuit (default
 *   5 when `failureRate` is not set).
 * - `failureRate`: `{ threshold, size?, minimumCalls? }`, a rate policy.
 * - `slowCall`: a delivery at least this long counts as a failure.
 * - `openDuration`: open time before the probe (default 30 s).
 * - `maxOpenDuration`: when set, the open time doubles on each consecutive
 *   opening, up to this.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { CircuitBreaker } from "@eventfabric/plugins"
 * Schema.decodeUnknownSync(CircuitBreaker.Config)({ failures: 5, slowCall: "250 millis" })
 * ```
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  failures: Schema.optional(PositiveInt),
  failureRate: Schema.optional(FailureRate),
  slowCall: Schema.optional(Options.DurationInput),
  openDuration: Schema.optional(Options.DurationInput),
  maxOpenDuration: Schema.optional(Options.DurationInput)
})

/**
 * @since 0.1.0
 */
export type Config = typeof Config.Encoded

type Kind = "consecutive" | "rate"

interface Circuit {
  readonly kind: Kind
  readonly breaker: Breaker.CircuitBreaker
  readonly key: (subscription: string) => string
  readonly subscription: (key: string) => string
}

type Attempt = Exit.Exit<void, Delivery.DeliveryError | Delivery.DeadLettered>

interface Timed {
  readonly exit: Attempt
  readonly slow: boolean
}

/** Maps what the breaker saw to its outcome. */
const classify = (exit: Exit.Exit<Timed, Breaker.CircuitBreakerError>): Breaker.Outcome => {
  // An inner circuit rejected the call: says nothing about the handler.
  if (Exit.isFailure(exit)) return Breaker.ignored
  const { exit: attempt, slow } = exit.value
  if (Exit.isSuccess(attempt)) return slow ? Breaker.failure() : Breaker.success
  if (Cause.hasInterruptsOnly(attempt.cause)) return Breaker.ignored
  const found = Cause.findErrorOption(attempt.cause)
  // By class, never by `_tag`: a value that only looks like a bus error is a failure.
  const raw: unknown = Option.getOrUndefined(found)
  const error = raw instanceof Delivery.DeadLettered ? raw.error : raw
  return error instanceof Delivery.CircuitOpen || error instanceof Delivery.Overflow
    ? Breaker.ignored
    : Breaker.failure()
}

/**
 * The CircuitBreaker plugin.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { EventBus, Plugin } from "@eventfabric/core"
 * import { CircuitBreaker, DeadLetter, Retry } from "@eventfabric/plugins"
 *
 * const Bus = EventBus.EventBus.layer().pipe(
 *   Layer.provide(Plugin.layer(
 *     DeadLetter.plugin(),
 *     CircuitBreaker.plugin({ failures: 5, slowCall: "2 seconds", openDuration: "30 seconds" }),
 *     Retry.plugin({ times: 3 })
 *   )),
 *   Layer.provideMerge(DeadLetter.DeadLetterQueue.layerMemory())
 * )
 * ```
 * @since 0.1.0
 */
export const plugin = (config?: Config): Plugin.Plugin<Errors.InvalidOptions> =>
  Plugin.make(
    "CircuitBreaker",
    Effect.gen(function* () {
      const decoded = yield* Options.decode(Config, "CircuitBreaker", config)
      const shared = yield* Effect.serviceOption(Breaker.CircuitBreakerStore)
      const openDuration = decoded.openDuration ?? Duration.seconds(30)
      const breakerOptions = {
        openDuration: decoded.maxOpenDuration === undefined ? openDuration : Schedule.exponential(openDuration),
        maxOpenDuration: decoded.maxOpenDuration
      }
      const policies: Array<[Kind, Breaker.TripPolicy]> = []
      if (decoded.failures !== undefined || decoded.failureRate === undefined) {
        policies.push(["consecutive", Breaker.consecutive(decoded.failures ?? 5)])
      }
      if (decoded.failureRate !== undefined) {
        const size = decoded.failureRate.size ?? 20
        policies.push([
          "rate",
          Breaker.rate({
            threshold: decoded.failureRate.threshold,
            size,
            minimumCalls: decoded.failureRate.minimumCalls ?? size
          })
        ])
      }
      const slowMillis = decoded.slowCall === undefined ? undefined : Duration.toMillis(decoded.slowCall)

      return Effect.fnUntraced(function* (bus: Plugin.BusHandle) {
        const store = Option.isSome(shared)
          ? shared.value
          : Context.get(yield* Layer.build(Breaker.layerStoreMemory()), Breaker.CircuitBreakerStore)
        const circuits: Array<Circuit> = []
        for (const [kind, tripPolicy] of policies) {
          const breaker = yield* Breaker.make({ tripPolicy, ...breakerOptions }).pipe(
            Effect.provideService(Breaker.CircuitBreakerStore, store)
          )
          const suffix = kind === "rate" ? "#rate" : ""
          circuits.push({
            kind,
            breaker,
            key: (subscription) => subscription + suffix,
            subscription: (key) => key.slice(0, key.length - suffix.length)
          })
        }

        // A subscription's circuit is open while any of its policies is.
        const openBy = new Map<string, Set<Kind>>()
        const publish = <D extends Event.Definition>(definition: D, payload: Event.Payload<D>) =>
          Effect.ignore(bus.publish(definition, payload))
        for (const circuit of circuits) {
          yield* circuit.breaker.transitions.pipe(
            Stream.runForEach((transition) => {
              const subscription = circuit.subscription(transition.key)
              let open = openBy.get(subscription)
              if (transition.to === "Open") {
                if (open === undefined) openBy.set(subscription, (open = new Set()))
                const wasClosed = open.size === 0
                open.add(circuit.kind)
                return wasClosed
                  ? publish(CircuitOpened, {
                      subscription,
                      trigger: circuit.kind,
                      retryAfterMillis: Duration.toMillis(transition.retryAfter),
                      consecutiveOpenings: transition.consecutiveOpenings
                    })
                  : Effect.void
              }
              if (transition.to === "Closed" && open?.delete(circuit.kind) && open.size === 0) {
                openBy.delete(subscription)
                return publish(CircuitClosed, { subscription })
              }
              return Effect.void
            }),
            Effect.forkScoped({ startImmediately: true })
          )
        }

        const delivery: Middleware.DeliveryMiddleware = (next) => (d) =>
          Effect.clockWith((clock) => {
            const start = clock.currentTimeMillisUnsafe()
            const timed: Effect.Effect<Timed, Breaker.CircuitBreakerError> = Effect.map(
              Effect.exit(next(d)),
              (exit) => ({
                exit,
                slow: slowMillis !== undefined && clock.currentTimeMillisUnsafe() - start >= slowMillis
              })
            )
            let guarded = timed
            for (let i = circuits.length - 1; i >= 0; i--) {
              const circuit = circuits[i]!
              guarded = circuit.breaker.execute(guarded, { key: circuit.key(d.subscription.name), classify })
            }
            return Effect.matchEffect(guarded, {
              onFailure: () => Effect.fail(new Delivery.CircuitOpen({ subscription: d.subscription.name })),
              onSuccess: (result) => result.exit
            })
          })
        return { delivery } satisfies Plugin.Hooks
      })
    })
  )
