/**
 * The plugin registry of the plugin-overhead scenario. One line per plugin:
 * adding a plugin to the bench is adding an entry here. Entries from
 * `@eventfabric/plugins` are looked up by export name when the bench runs; a
 * plugin that is missing, needs a service, or fails a smoke run is reported as
 * skipped with the reason, and the bench goes on.
 */
import { Plugin } from "@eventfabric/core"
import { Effect, type Layer } from "effect"

export type AnyPlugin = Plugin.Plugin<unknown, any>

export interface Loaded {
  readonly plugin: AnyPlugin
  /** Services the plugin needs (a store, a queue), provided to `Plugin.layer`. */
  readonly layer?: Layer.Layer<any, any> | undefined
}

export interface Entry {
  readonly name: string
  readonly load: () => Promise<Loaded>
}

/** Pass-through publish and delivery middleware: the cost of having a middleware chain at all. */
export const Noop: AnyPlugin = Plugin.make(
  "noop",
  Effect.succeed(() =>
    Effect.succeed({
      publish: (next) => (envelope, definition) => next(envelope, definition),
      delivery: (next) => (delivery) => next(delivery)
    })
  )
)

type Namespace = Record<string, any>

const fromPackage = (
  exportName: string,
  make: (module: Namespace) => unknown,
  layer?: (module: Namespace) => Layer.Layer<any, any>
): Entry => ({
  name: exportName,
  load: async () => {
    const ns = (await import("@eventfabric/plugins")) as Namespace
    const module = ns[exportName] as Namespace | undefined
    if (module === undefined) throw new Error(`@eventfabric/plugins exports no ${exportName} yet`)
    const plugin = make(module) as AnyPlugin | undefined
    if (plugin === undefined || typeof plugin.name !== "string" || plugin.build === undefined) {
      throw new Error(`${exportName}: no plugin value (expected ${exportName}.plugin())`)
    }
    return { plugin, layer: layer?.(module) }
  }
})

export const registry: ReadonlyArray<Entry> = [
  { name: "noop", load: async () => ({ plugin: Noop }) },
  fromPackage("Validation", (m) => m.plugin?.()),
  fromPackage("Redaction", (m) => m.plugin?.()),
  fromPackage("Dedup", (m) => m.plugin?.()),
  fromPackage("Metrics", (m) => m.plugin?.()),
  fromPackage("Tracing", (m) => m.plugin?.()),
  fromPackage("CircuitBreaker", (m) => m.plugin?.()),
  fromPackage("Retry", (m) => m.plugin?.()),
  fromPackage(
    "DeadLetter",
    (m) => m.plugin?.(),
    (m) => m.DeadLetterQueue.layerMemory()
  ),
  fromPackage("Batching", (m) => m.plugin?.()),
  fromPackage("Audit", (m) => m.plugin?.())
]
