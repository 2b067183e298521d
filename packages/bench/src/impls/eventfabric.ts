import { Event, EventBus, type Options, Plugin } from "@eventfabric/core"
import { Context, Effect, Exit, Layer, References, Schema, Scope } from "effect"
import { deliveriesLost, type MailboxApplied, publishAllOf, subscribeWithMailbox } from "./compat.ts"
import { makeBatchFeeder, makeFeeder } from "./feeder.ts"
import type { Counters, Impl, Instance, Payload, SetupOptions } from "./types.ts"

const PayloadSchema = Schema.Struct({ seq: Schema.Number, t: Schema.Number, lane: Schema.Literals([0, 1, 2]) })

export const Critical = Event.define("bench.critical", { payload: PayloadSchema, priority: "critical" })
export const Normal = Event.define("bench.normal", { payload: PayloadSchema, priority: "normal" })
export const Low = Event.define("bench.low", { payload: PayloadSchema, priority: "low" })
const byLane = [Critical, Normal, Low] as const

/** The bus's info logs (its start and stop records) would interleave with the bench's output. */
const quiet = <A, E>(effect: Effect.Effect<A, E>) => Effect.provideService(effect, References.MinimumLogLevel, "Warn")

type Handler = (e: { readonly payload: Payload }) => Effect.Effect<unknown>

const handlerOf = (o: SetupOptions, sub: number): Handler => {
  const body = (e: { readonly payload: Payload }) => Effect.sync(() => o.handler(sub, e.payload))
  if (o.slow?.index !== sub) return body
  const ms = o.slow.ms
  return ms === Number.POSITIVE_INFINITY
    ? (e) => Effect.andThen(body(e), Effect.never)
    : (e) => Effect.andThen(body(e), Effect.sleep(ms))
}

/**
 * The bus under test: one subscription per subscriber on all three bench
 * events, run as the design intends. `batch`: publish through `publishAll`
 * when the core has it (else one by one, reported as such).
 */
const make = (name: string, batch: boolean): Impl => ({
  name,
  setup: async (o: SetupOptions): Promise<Instance> => {
    const scope = Effect.runSync(Scope.make())
    const plugins = (o.plugins ?? []) as ReadonlyArray<Plugin.Plugin<never, never>>
    const needs = (o.pluginLayers ?? []) as ReadonlyArray<Layer.Layer<never>>
    const installed =
      needs.length === 0
        ? Plugin.layer(...plugins)
        : Plugin.layer(...plugins).pipe(Layer.provideMerge(Layer.mergeAll(...(needs as [Layer.Layer<never>]))))
    const layer = EventBus.EventBus.layer(o.busOptions as Options.BusOptions | undefined).pipe(Layer.provide(installed))
    const context = await Effect.runPromise(quiet(Layer.buildWithScope(layer, scope)))
    const bus = Context.get(context, EventBus.EventBus)
    let mailboxApplied: MailboxApplied | undefined
    for (let i = 0; i < o.subscribers; i++) {
      const handler = handlerOf(o, i)
      const mailbox = o.slow?.index === i ? o.slowMailbox : undefined
      const r = await Effect.runPromise(
        subscribeWithMailbox(
          (options) => bus.subscribe(byLane, handler, options).pipe(Effect.provideService(Scope.Scope, scope)),
          { name: `s${i}` },
          mailbox
        )
      )
      if (mailbox !== undefined) mailboxApplied = r.applied
    }
    const publishAll = batch ? publishAllOf(bus) : undefined
    const feeder =
      publishAll === undefined
        ? makeFeeder((p) => bus.publish(byLane[p.lane], p))
        : makeBatchFeeder((lane, ps) => publishAll(byLane[lane], ps))
    return {
      send: feeder.send,
      backlog: feeder.backlog,
      depth: () => {
        const s = Effect.runSync(bus.stats)
        return s.queued + s.deliveries.queued + feeder.backlog()
      },
      counters: (): Counters => {
        const s = Effect.runSync(bus.stats)
        const lost = (l: { readonly dropped: number; readonly evicted: number }) => l.dropped + l.evicted
        return {
          published: s.published,
          dropped: [lost(s.lanes.critical), lost(s.lanes.normal), lost(s.lanes.low)],
          deliveriesLost: deliveriesLost(s.deliveries),
          detail: s
        }
      },
      mailboxApplied,
      publishesBatched: publishAll !== undefined,
      close: async () => {
        feeder.stop()
        await Effect.runPromise(quiet(Scope.close(scope, Exit.void)))
      }
    }
  }
})

export const eventfabric: Impl = make("eventfabric", false)

/** eventfabric publishing through `publishAll` (listed only when the core has it). */
export const eventfabricBatch: Impl = make("eventfabric-publishAll", true)
