import type { Impl, Instance, Payload, SetupOptions } from "../impls/types.ts"

/**
 * A closed-loop driver: `run(n)` publishes `n` payloads and resolves when every
 * subscriber has handled every one of them (the handler is `counter++`).
 */
export interface Closed {
  readonly instance: Instance
  readonly run: (n: number) => Promise<void>
  readonly handled: () => number
}

const STALL_MS = 10_000

export const closed = async (
  impl: Impl,
  subscribers: number,
  extra?: Partial<Pick<SetupOptions, "busOptions" | "plugins" | "pluginLayers">>
): Promise<Closed> => {
  let handled = 0
  let target = -1
  let resolve: (() => void) | undefined
  let seq = 0
  const instance = await impl.setup({
    subscribers,
    handler: () => {
      if (++handled === target) resolve?.()
    },
    ...extra
  })
  return {
    instance,
    handled: () => handled,
    run: (n) => {
      // Fresh payloads each op (distinct seq): a dedup plugin must not see repeats.
      const batch: Array<Payload> = new Array(n)
      for (let i = 0; i < n; i++) batch[i] = { seq: seq++, t: 0, lane: 1 }
      // A run that stops progressing fails instead of hanging the bench.
      const done = new Promise<void>((r, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${impl.name}: ${n} events not handled in ${STALL_MS} ms`)),
          STALL_MS
        )
        resolve = () => {
          clearTimeout(timer)
          r()
        }
      })
      target = handled + n * subscribers
      instance.send(batch)
      return handled >= target ? Promise.resolve() : done
    }
  }
}
