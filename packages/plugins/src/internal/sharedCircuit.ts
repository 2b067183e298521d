/**
 * The shared circuit path of the CircuitBreaker plugin (`shared: true`): the
 * circuits live in the `effect/persistence` `CircuitBreakerStore` found in
 * context (its Redis store shares them between processes). Each delivery
 * runs `CircuitBreaker.execute` (a Scope, the store's admit and record), so
 * this path is for circuits that must be shared, not for speed.
 */
import { Delivery, type Middleware } from "@eventfabric/core"
import { Cause, Context, Duration, Effect, Exit, Layer, Option, Schedule, Stream } from "effect"
import { CircuitBreaker as Breaker } from "effect/persistence"
import type { Policy, Transition } from "./circuit.ts"

type Kind = "consecutive" | "rate"

interface Timed {
  readonly exit: Exit.Exit<void, Delivery.DeliveryError | Delivery.DeadLettered>
  readonly slow: boolean
}

/** Maps what the breaker saw to its outcome. */
const classify = (exit: Exit.Exit<Timed, Breaker.CircuitBreakerError>): Breaker.Outcome => {
  // An inner circuit rejected the call: says nothing about the handler.
  if (Exit.isFailure(exit)) return Breaker.ignored
  const { exit: attempt, slow } = exit.value
  if (Exit.isSuccess(attempt)) return slow ? Breaker.failure() : Breaker.success
  if (Cause.hasInterruptsOnly(attempt.cause)) return Breaker.ignored
  // By class, never by `_tag`: a value that only looks like a bus error is a failure.
  const raw: unknown = Option.getOrUndefined(Cause.findErrorOption(attempt.cause))
  const error = raw instanceof Delivery.DeadLettered ? raw.error : raw
  return error instanceof Delivery.CircuitOpen || error instanceof Delivery.Overflow
    ? Breaker.ignored
    : Breaker.failure()
}

export const sharedMiddleware = Effect.fnUntraced(function* (policy: Policy, slowMillis: number | undefined) {
  const found = yield* Effect.serviceOption(Breaker.CircuitBreakerStore)
  const openDuration = Duration.millis(policy.openMillis)
  const breakerOptions = {
    openDuration: policy.maxOpenMillis === undefined ? openDuration : Schedule.exponential(openDuration),
    maxOpenDuration: policy.maxOpenMillis === undefined ? undefined : Duration.millis(policy.maxOpenMillis)
  }
  const policies: Array<[Kind, Breaker.TripPolicy]> = []
  if (policy.failures !== undefined) policies.push(["consecutive", Breaker.consecutive(policy.failures)])
  if (policy.rate !== undefined) policies.push(["rate", Breaker.rate(policy.rate)])

  return Effect.fnUntraced(function* (announce: (subscription: string, transition: Transition) => void) {
    const store = Option.isSome(found)
      ? found.value
      : Context.get(yield* Layer.build(Breaker.layerStoreMemory()), Breaker.CircuitBreakerStore)
    // A subscription's circuit is open while any of its policies is.
    const openBy = new Map<string, Set<Kind>>()
    const circuits: Array<{ readonly breaker: Breaker.CircuitBreaker; readonly suffix: string }> = []
    for (const [kind, tripPolicy] of policies) {
      const breaker = yield* Breaker.make({ tripPolicy, ...breakerOptions }).pipe(
        Effect.provideService(Breaker.CircuitBreakerStore, store)
      )
      const suffix = kind === "rate" ? "#rate" : ""
      circuits.push({ breaker, suffix })
      yield* breaker.transitions.pipe(
        Stream.runForEach((transition) =>
          Effect.sync(() => {
            const subscription = transition.key.slice(0, transition.key.length - suffix.length)
            let open = openBy.get(subscription)
            if (transition.to === "Open") {
              if (open === undefined) openBy.set(subscription, (open = new Set()))
              const wasClosed = open.size === 0
              open.add(kind)
              if (wasClosed) {
                announce(subscription, {
                  to: "open",
                  trigger: kind,
                  openFor: Duration.toMillis(transition.retryAfter),
                  openings: transition.consecutiveOpenings
                })
              }
            } else if (transition.to === "Closed" && open?.delete(kind) && open.size === 0) {
              openBy.delete(subscription)
              announce(subscription, { to: "closed" })
            }
          })
        ),
        Effect.forkScoped({ startImmediately: true })
      )
    }

    const delivery: Middleware.DeliveryMiddleware = (next) => (d) =>
      Effect.clockWith((clock) => {
        const start = clock.currentTimeMillisUnsafe()
        const timed: Effect.Effect<Timed, Breaker.CircuitBreakerError> = Effect.map(Effect.exit(next(d)), (exit) => ({
          exit,
          slow: slowMillis !== undefined && clock.currentTimeMillisUnsafe() - start >= slowMillis
        }))
        let guarded = timed
        for (let i = circuits.length - 1; i >= 0; i--) {
          const circuit = circuits[i]!
          guarded = circuit.breaker.execute(guarded, { key: d.subscription.name + circuit.suffix, classify })
        }
        return Effect.matchEffect(guarded, {
          onFailure: () => Effect.fail(new Delivery.CircuitOpen({ subscription: d.subscription.name })),
          onSuccess: (result) => result.exit
        })
      })
    return delivery
  })
})
