import { Event, EventBus, type Options, Plugin } from "@eventfabric/core"
import { Context, Effect, Exit, Layer, Schema, Scope } from "effect"
import { makeFeeder } from "./feeder.ts"
import type { Counters, Impl, Instance, Payload, SetupOptions } from "./types.ts"

const PayloadSchema = Schema.Struct({ seq: Schema.Number, t: Schema.Number, lane: Schema.Literals([0, 1, 2]) })

export const Critical = Event.define("bench.critical", { payload: PayloadSchema, priority: "critical" })
export const Normal = Event.define("bench.normal", { payload: PayloadSchema, priority: "normal" })
export const Low = Event.define("bench.low", { payload: PayloadSchema, priority: "low" })
const byLane = [Critical, Normal, Low] as const

/** The bus under test: one subscription per subscriber on all three bench events, run as the design intends. */
export const eventfabric: Impl = {
  name: "eventfabric",
  setup: async (o: SetupOptions): Promise<Instance> => {
    const scope = Effect.runSync(Scope.make())
    const plugins = (o.plugins ?? []) as ReadonlyArray<Plugin.Plugin<never, never>>
    const needs = (o.pluginLayers ?? []) as ReadonlyArray<Layer.Layer<never>>
    const installed =
      needs.length === 0
        ? Plugin.layer(...plugins)
        : Plugin.layer(...plugins).pipe(Layer.provideMerge(Layer.mergeAll(...(needs as [Layer.Layer<never>]))))
    const layer = EventBus.EventBus.layer(o.busOptions as Options.BusOptions | undefined).pipe(Layer.provide(installed))
    const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
    const bus = Context.get(context, EventBus.EventBus)
    for (let i = 0; i < o.subscribers; i++) {
      const sub = i
      const handler =
        o.slow?.index === sub
          ? (
              (ms: number) => (e: { readonly payload: Payload }) =>
                Effect.andThen(
                  Effect.sync(() => o.handler(sub, e.payload)),
                  Effect.sleep(ms)
                )
            )(o.slow.ms)
          : (e: { readonly payload: Payload }) => Effect.sync(() => o.handler(sub, e.payload))
      await Effect.runPromise(
        bus.subscribe(byLane, handler, { name: `s${sub}` }).pipe(Effect.provideService(Scope.Scope, scope))
      )
    }
    const feeder = makeFeeder((p) => bus.publish(byLane[p.lane], p))
    return {
      send: feeder.send,
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
          detail: s
        }
      },
      close: async () => {
        feeder.stop()
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    }
  }
}
