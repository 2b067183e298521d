import { Effect, type Fiber } from "effect"
import type { Payload } from "./types.ts"

/**
 * One producer fiber in front of an Effect-based implementation: `send`
 * appends to a plain array and (re)starts the fiber, which publishes the
 * payloads in order, waiting when the implementation applies backpressure.
 * The open-loop generator's backlog thus lives outside the implementation, and
 * its wait counts in the latency measured from the intended send time.
 */
export const makeFeeder = (publishOne: (payload: Payload) => Effect.Effect<unknown, unknown>) => {
  let pending: Array<Payload> = []
  let head = 0
  let running = false
  let fiber: Fiber.Fiber<void, unknown> | undefined
  const loop = Effect.gen(function* () {
    while (head < pending.length) {
      yield* publishOne(pending[head++]!)
    }
    pending = []
    head = 0
    running = false
  })
  return {
    send: (batch: ReadonlyArray<Payload>): void => {
      for (let i = 0; i < batch.length; i++) pending.push(batch[i]!)
      if (running) return
      // The loop may finish inside runFork (nothing suspended): `running` is reset there.
      running = true
      fiber = Effect.runFork(loop)
    },
    backlog: (): number => pending.length - head,
    stop: (): void => {
      fiber?.interruptUnsafe()
      fiber = undefined
      running = false
      pending = []
      head = 0
    }
  }
}

/**
 * The batched feeder: like `makeFeeder`, but each turn publishes everything
 * pending in one call per run of payloads of the same lane.
 */
export const makeBatchFeeder = (
  publishMany: (lane: Payload["lane"], payloads: ReadonlyArray<Payload>) => Effect.Effect<unknown, unknown>
) => {
  let pending: Array<Payload> = []
  let running = false
  let fiber: Fiber.Fiber<void, unknown> | undefined
  const loop = Effect.gen(function* () {
    while (pending.length > 0) {
      const batch = pending
      pending = []
      let from = 0
      for (let i = 1; i <= batch.length; i++) {
        if (i === batch.length || batch[i]!.lane !== batch[from]!.lane) {
          yield* publishMany(batch[from]!.lane, from === 0 && i === batch.length ? batch : batch.slice(from, i))
          from = i
        }
      }
    }
    running = false
  })
  return {
    send: (batch: ReadonlyArray<Payload>): void => {
      for (let i = 0; i < batch.length; i++) pending.push(batch[i]!)
      if (running) return
      running = true
      fiber = Effect.runFork(loop)
    },
    backlog: (): number => pending.length,
    stop: (): void => {
      fiber?.interruptUnsafe()
      fiber = undefined
      running = false
      pending = []
    }
  }
}
