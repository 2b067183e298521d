/** What each implementation gives the bench driver: plain promises, so every one is driven alike. */
export interface Item {
  readonly n: number
  /** Epoch milliseconds (performance.timeOrigin + now()) when the publisher sent it. */
  readonly sent: number
}

export interface Impl {
  readonly engine: "redis" | "nats"
  readonly name: string
  /** Creates what the run needs (stream, group) in the main process. */
  readonly setup: (ns: string) => Promise<void>
  readonly teardown: (ns: string) => Promise<void>
  readonly publisher: (ns: string) => Promise<{
    readonly publish: (items: ReadonlyArray<Item>) => Promise<void>
    readonly close: () => Promise<void>
  }>
  /** Consumes as one member of the group; `onEvent` per event handled (before its ack). */
  readonly consumer: (ns: string, name: string, onEvent: (sent: number) => void) => Promise<() => Promise<void>>
}

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222"
export const TYPE = "bench.tick"
export const now = () => performance.timeOrigin + performance.now()
