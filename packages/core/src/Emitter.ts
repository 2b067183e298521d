/**
 * A drop-in for Node's `EventEmitter` whose listeners run on the bus.
 *
 * The surface is the familiar one — string (or symbol) event names, `on` /
 * `addListener`, `once`, `prependListener`, `prependOnceListener`, `off` /
 * `removeListener`, `removeAllListeners`, `listeners`, `listenerCount`,
 * `eventNames`, `emit` answering whether anyone listened, `newListener` /
 * `removeListener` events and the `error` rule — typed when given an event
 * map. What changes, on purpose:
 *
 * - **Listeners run asynchronously**, on the bus: `emit` takes the listener
 *   list at the call (Node's snapshot rule: a listener added during an emit
 *   is not called for it, one removed is still called) and returns; the
 *   listeners run in order, each in its own `try`, as one delivery of a
 *   subscription per event name. So a throwing or slow listener cannot break
 *   the emitting code, every call is counted in the bus's stats, a failure is
 *   reported (`system.handler_error`, the DLQ plugin), and `emitAndWait`
 *   answers when they all finished. Events of one name keep emit order.
 * - **A listener's throw does not come out of `emit`** (it has returned): the
 *   delivery fails, and the error is emitted as `error` when there are
 *   `error` listeners.
 * - `emit("error", e)` with no `error` listener throws at once, as in Node
 *   (`e` itself when it is an `Error`, else an `ERR_UNHANDLED_ERROR` error).
 *
 * @since 0.2.0
 */

import { type Layer, Schema } from "effect"
import * as Event from "./Event.ts"
import { EventBus } from "./EventBus.ts"
import * as Facade from "./Facade.ts"

/**
 * Event names to listener argument tuples, as in `EventEmitter<T>`.
 *
 * @since 0.2.0
 */
export type EventMap = { readonly [name: string | symbol]: ReadonlyArray<unknown> }

type Key<T> = keyof T & (string | symbol)
type Args<T, K> = K extends keyof T ? (T[K] extends ReadonlyArray<unknown> ? T[K] : never) : ReadonlyArray<unknown>

/**
 * A listener: called with the emitted arguments and `this` set to the
 * emitter. A returned Promise is awaited (its rejection fails the delivery).
 *
 * @since 0.2.0
 */
export type Listener<A extends ReadonlyArray<unknown>> = (...args: A) => void | PromiseLike<void>

/**
 * Options of `Emitter.make` and of the constructor.
 *
 * - `facade`: the bus to run on (shared by several emitters); required by
 *   the constructor, built by `make` from `layer` (default `EventBus.layer()`).
 * - `name`: a prefix for the emitter's subscription names in stats and the
 *   DLQ (default `emitter#N`).
 *
 * @since 0.2.0
 */
export interface EmitterOptions {
  readonly name?: string | undefined
}

interface Entry {
  readonly listener: Listener<ReadonlyArray<unknown>>
  readonly once: boolean
}

interface Channel {
  readonly definition: Event.Definition
  readonly subscription: string
  entries: Array<Entry>
}

interface Emitted {
  readonly args: ReadonlyArray<unknown>
  readonly listeners: ReadonlyArray<Listener<ReadonlyArray<unknown>>>
}

let instances = 0

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  typeof u === "object" && u !== null && typeof (u as { then?: unknown }).then === "function"

const describe = (value: unknown): string => {
  if (typeof value === "string") return `'${value}'`
  try {
    const json = JSON.stringify(value)
    return json === undefined ? String(value) : json
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** Node's rule for an `error` event nobody listens to. */
const unhandled = (error: unknown): Error => {
  if (error instanceof Error) return error
  const wrapped = new Error(
    error === undefined ? "Unhandled error." : `Unhandled error. (${describe(error)})`
  ) as Error & { code: string; context: unknown }
  wrapped.code = "ERR_UNHANDLED_ERROR"
  wrapped.context = error
  return wrapped
}

const checkListener = (listener: unknown) => {
  if (typeof listener !== "function") {
    throw Object.assign(
      new TypeError(`The "listener" argument must be of type function. Received ${describe(listener)}`),
      {
        code: "ERR_INVALID_ARG_TYPE"
      }
    )
  }
}

/**
 * The emitter.
 *
 * @example
 * ```ts
 * import { Emitter } from "@eventfabric/core"
 *
 * type Events = { "user.created": [id: string, name: string]; error: [Error] }
 *
 * const users = await Emitter.make<Events>()
 * // or, on a bus shared with other code: new Emitter.Emitter<Events>(facade)
 * users.on("user.created", (id, name) => console.log(id, name))
 * users.on("error", (error) => console.error(error))
 * users.emit("user.created", "u-1", "Ada") // true: someone listened; the listener runs on the bus
 * await users.emitAndWait("user.created", "u-2", "Grace") // resolves once every listener finished
 * await users.close()
 * ```
 * @since 0.2.0
 */
export class Emitter<Events extends EventMap = EventMap> {
  /** Node's default, kept for `getMaxListeners`; exceeding it is allowed and not warned about. */
  static defaultMaxListeners = 10

  /** Builds a bus of its own (closed by `close`) and an emitter on it. */
  static async make<Events extends EventMap = EventMap>(
    options?: EmitterOptions & {
      readonly layer?: Layer.Layer<EventBus, unknown> | undefined
      readonly facade?: Facade.FacadeOptions | undefined
    }
  ): Promise<Emitter<Events>> {
    const facade = await Facade.make(options?.layer ?? EventBus.layer(), options?.facade)
    const emitter = new Emitter<Events>(facade, options)
    emitter.owned = true
    return emitter
  }

  /** The facade the listeners run on (its `stats()` counts them). */
  readonly facade: Facade.Facade<any>
  private readonly prefix: string
  private readonly id: number
  private readonly channels = new Map<string | symbol, Channel>()
  private owned = false
  private maxListeners = Emitter.defaultMaxListeners

  constructor(facade: Facade.Facade<any>, options?: EmitterOptions) {
    this.facade = facade
    this.id = ++instances
    this.prefix = options?.name ?? `emitter#${this.id}`
  }

  // ---- adding and removing ----------------------------------------------

  on<K extends Key<Events>>(name: K, listener: Listener<Args<Events, K>>): this {
    return this.add(name, listener as Listener<ReadonlyArray<unknown>>, false, false)
  }

  addListener<K extends Key<Events>>(name: K, listener: Listener<Args<Events, K>>): this {
    return this.on(name, listener)
  }

  once<K extends Key<Events>>(name: K, listener: Listener<Args<Events, K>>): this {
    return this.add(name, listener as Listener<ReadonlyArray<unknown>>, true, false)
  }

  prependListener<K extends Key<Events>>(name: K, listener: Listener<Args<Events, K>>): this {
    return this.add(name, listener as Listener<ReadonlyArray<unknown>>, false, true)
  }

  prependOnceListener<K extends Key<Events>>(name: K, listener: Listener<Args<Events, K>>): this {
    return this.add(name, listener as Listener<ReadonlyArray<unknown>>, true, true)
  }

  /** Removes the most recently added instance of `listener` (Node's rule). */
  off<K extends Key<Events>>(name: K, listener: Listener<Args<Events, K>>): this {
    checkListener(listener)
    const channel = this.channels.get(name)
    if (channel === undefined) return this
    for (let i = channel.entries.length - 1; i >= 0; i--) {
      if (channel.entries[i]!.listener === listener) {
        channel.entries = channel.entries.filter((_, j) => j !== i)
        this.announce("removeListener", name, listener)
        break
      }
    }
    return this
  }

  removeListener<K extends Key<Events>>(name: K, listener: Listener<Args<Events, K>>): this {
    return this.off(name, listener)
  }

  /** Removes every listener of `name`, or of every name; `removeListener` listeners go last. */
  removeAllListeners(name?: Key<Events>): this {
    const names = name === undefined ? [...this.channels.keys()] : [name]
    if (name === undefined) {
      // As Node: the `removeListener` listeners hear about everything else first.
      names.sort((a, b) => (a === "removeListener" ? 1 : b === "removeListener" ? -1 : 0))
    }
    for (const n of names) {
      const channel = this.channels.get(n)
      if (channel === undefined) continue
      // Last added first, each announced while the rest are still listening (Node's order).
      while (channel.entries.length > 0) {
        const last = channel.entries[channel.entries.length - 1]!
        channel.entries = channel.entries.slice(0, -1)
        this.announce("removeListener", n, last.listener)
      }
    }
    return this
  }

  // ---- inspecting ---------------------------------------------------------

  listeners<K extends Key<Events>>(name: K): Array<Listener<Args<Events, K>>> {
    return (this.channels.get(name)?.entries ?? []).map((e) => e.listener as Listener<Args<Events, K>>)
  }

  rawListeners<K extends Key<Events>>(name: K): Array<Listener<Args<Events, K>>> {
    return this.listeners(name)
  }

  /** Listeners of `name`; with `listener`, how many times that one is registered. */
  listenerCount<K extends Key<Events>>(name: K, listener?: Listener<Args<Events, K>>): number {
    const entries = this.channels.get(name)?.entries ?? []
    return listener === undefined ? entries.length : entries.filter((e) => e.listener === listener).length
  }

  /** Names with at least one listener, in the order they were first listened to. */
  eventNames(): Array<Key<Events>> {
    const names: Array<Key<Events>> = []
    for (const [name, channel] of this.channels) if (channel.entries.length > 0) names.push(name as Key<Events>)
    return names
  }

  setMaxListeners(n: number): this {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`The value of "n" is out of range. Received ${n}`)
    this.maxListeners = n
    return this
  }

  getMaxListeners(): number {
    return this.maxListeners
  }

  // ---- emitting -----------------------------------------------------------

  /**
   * Hands the event to the bus and answers whether anyone listened. The
   * listeners are the ones registered now; they run once this returns.
   */
  emit<K extends Key<Events>>(name: K, ...args: Args<Events, K>): boolean {
    const taken = this.take(name, args)
    if (taken === undefined) return false
    this.facade.emit(taken[0], taken[1])
    return true
  }

  /**
   * Like `emit`, then resolves once every listener has finished (their
   * failures in `errors`). With no listener it resolves at once with no
   * deliveries.
   */
  emitAndWait<K extends Key<Events>>(name: K, ...args: Args<Events, K>): Promise<Facade.EmitResult> {
    const taken = this.take(name, args)
    if (taken === undefined) {
      return Promise.resolve({
        id: "",
        type: String(name),
        status: "delivered",
        deliveries: [],
        succeeded: 0,
        failed: 0,
        errors: []
      })
    }
    return this.facade.emitAndWait(taken[0], taken[1])
  }

  /** Waits until every emitted event's listeners have run. */
  drain(): Promise<void> {
    return this.facade.drain()
  }

  /** Closes the bus when `make` built it; otherwise drains (the facade's owner closes it). */
  close(): Promise<void> {
    return this.owned ? this.facade.close() : this.facade.drain()
  }

  // ---- internals ----------------------------------------------------------

  private add(
    name: string | symbol,
    listener: Listener<ReadonlyArray<unknown>>,
    once: boolean,
    prepend: boolean
  ): this {
    checkListener(listener)
    // As Node: `newListener` is told before the listener is added.
    this.announce("newListener", name, listener)
    const channel = this.channel(name)
    const entry: Entry = { listener, once }
    channel.entries = prepend ? [entry, ...channel.entries] : [...channel.entries, entry]
    return this
  }

  private announce(event: "newListener" | "removeListener", name: string | symbol, listener: unknown) {
    if ((this.channels.get(event)?.entries.length ?? 0) > 0)
      this.emit(event as Key<Events>, ...([name, listener] as never))
  }

  /** The listener snapshot for one emit; `once` listeners leave the list here, as Node removes them before calling. */
  private take(name: string | symbol, args: ReadonlyArray<unknown>): readonly [Event.Definition, Emitted] | undefined {
    const channel = this.channels.get(name)
    if (channel === undefined || channel.entries.length === 0) {
      if (name === "error") throw unhandled(args[0])
      return undefined
    }
    const entries = channel.entries
    const listeners = entries.map((e) => e.listener)
    if (entries.some((e) => e.once)) {
      channel.entries = entries.filter((e) => !e.once)
      for (const e of entries) if (e.once) this.announce("removeListener", name, e.listener)
    }
    return [channel.definition, { args, listeners }]
  }

  private channel(name: string | symbol): Channel {
    let channel = this.channels.get(name)
    if (channel !== undefined) return channel
    // The bus wants `domain.action` names; an emitter's names are free-form, so
    // each gets an internal type, and the subscription carries the real name.
    const definition = Event.define(`emitter${this.id}.e${this.channels.size}` as "emitter.event", {
      payload: Schema.Any
    })
    const subscription = `${this.prefix}:${String(name)}`
    channel = { definition, subscription, entries: [] }
    this.channels.set(name, channel)
    this.facade.on(definition, (envelope) => this.run(name, envelope.payload as Emitted), {
      name: subscription
    })
    return channel
  }

  /** One delivery: every listener of the snapshot, in order, each in its own try. */
  private run(name: string | symbol, emitted: Emitted): void | Promise<void> {
    const errors: Array<unknown> = []
    const pending: Array<PromiseLike<unknown>> = []
    for (const listener of emitted.listeners) {
      try {
        const result = listener.apply(this, emitted.args as Array<unknown>)
        if (isThenable(result)) pending.push(result.then(undefined, (error: unknown) => void errors.push(error)))
      } catch (error) {
        errors.push(error)
      }
    }
    const finish = () => {
      if (errors.length === 0) return
      const error =
        errors.length === 1
          ? errors[0]
          : new AggregateError(errors, `${errors.length} listeners of ${String(name)} failed`)
      if (name !== "error" && this.listenerCount("error" as Key<Events>) > 0)
        this.emit("error" as Key<Events>, ...([error] as never))
      throw error
    }
    if (pending.length === 0) return finish()
    return Promise.all(pending).then(finish)
  }
}

/**
 * `Emitter.make` as a function: builds a bus of its own and an emitter on it.
 *
 * @example
 * ```ts
 * import { Emitter } from "@eventfabric/core"
 * const emitter = await Emitter.make<{ tick: [n: number] }>()
 * emitter.on("tick", (n) => console.log(n))
 * emitter.emit("tick", 1)
 * await emitter.close()
 * ```
 * @since 0.2.0
 */
export const make = <Events extends EventMap = EventMap>(
  options?: Parameters<typeof Emitter.make>[0]
): Promise<Emitter<Events>> => Emitter.make<Events>(options)
