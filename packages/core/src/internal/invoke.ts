/**
 * The innermost step of a delivery middleware chain: runs the handler, its
 * failures typed `HandlerError`, a run past the timeout `HandlerTimeout`
 * (per attempt, which Retry relies on). Interruption passes through.
 *
 * No fiber for a handler whose effect is already an `Exit` (`Effect.void`,
 * `Effect.fail(...)`); otherwise one child fiber run to completion on the
 * spot (~80 ns, no scheduler hop), and a timer only when it suspends. When no
 * middleware wraps the call (the chain hands back this step's own effect),
 * the subscription runs the handler directly instead: see `direct`.
 */
import { Cause, Effect, Exit, Fiber } from "effect"
import { type DeliveryError, HandlerError, HandlerTimeout } from "../Delivery.ts"
import type { Envelope } from "../Envelope.ts"
import type { Deliver } from "../Middleware.ts"
import { stackless } from "./stackless.ts"

export type Handler = (envelope: Envelope) => Effect.Effect<unknown, unknown>

const toDelivery = (subscription: string, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void, DeliveryError> => {
  if (Exit.isSuccess(exit)) return Effect.void
  return Cause.hasInterruptsOnly(exit.cause)
    ? Effect.interrupt
    : Effect.fail(stackless(() => new HandlerError({ subscription, cause: exit.cause })))
}

/** Runs a handler's effect as the chain's innermost step. */
const attempt = (
  effect: Effect.Effect<unknown, unknown>,
  subscription: string,
  timeout: import("effect").Duration.Duration
): Effect.Effect<void, DeliveryError> => {
  if (Exit.isExit(effect)) return toDelivery(subscription, effect)
  return Effect.withFiber((parent) => {
    const child = Effect.runForkWith(parent.context)(effect)
    const exit = child.pollUnsafe()
    if (exit !== undefined) return toDelivery(subscription, exit)
    return Fiber.await(child).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.andThen(
            Fiber.interrupt(child),
            Effect.fail(stackless(() => new HandlerTimeout({ subscription, timeout })))
          )
      }),
      Effect.flatMap((exit) => toDelivery(subscription, exit)),
      Effect.onInterrupt(() => Fiber.interrupt(child))
    )
  })
}

/**
 * The innermost `Deliver` for `handler`, and `direct`: whether an effect the
 * chain returned is this step's own, unwrapped, for the delivery just built.
 * Then no middleware runs code around the handler, and the subscription runs
 * the handler as it would without middleware (one fiber fewer).
 */
export const invoke = (handler: Handler) => {
  let last: Effect.Effect<void, DeliveryError> | undefined
  const deliver: Deliver = ({ envelope, subscription }) => {
    const effect = Effect.suspend(() => {
      let run: Effect.Effect<unknown, unknown>
      try {
        run = handler(envelope)
      } catch (defect) {
        run = Exit.die(defect)
      }
      return attempt(run, subscription.name, subscription.timeout)
    })
    last = effect
    return effect
  }
  const direct = (effect: Effect.Effect<unknown, unknown>): boolean => {
    const mine = effect === last
    last = undefined
    return mine
  }
  return { deliver, direct }
}
