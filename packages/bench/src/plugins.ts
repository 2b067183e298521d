/**
 * The plugin registry of the plugin-overhead scenario. One line per plugin:
 * adding a plugin to the bench is adding an entry here. A plugin that fails
 * its smoke run is reported as skipped with the reason, and the bench goes on.
 * Imported by the plugin scenario's child processes only (it loads every
 * plugin and its SDKs).
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { Plugin } from "@eventfabric/core"
import {
  Audit,
  CircuitBreaker,
  DeadLetter,
  DeadLetterQueue,
  Dedup,
  Metrics,
  Redaction,
  Retry,
  Tracing,
  Validation
} from "@eventfabric/plugins"
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

/** Pass-through publish and delivery middleware: the cost of having both middleware chains at all. */
export const Noop: AnyPlugin = Plugin.make(
  "noop",
  Effect.succeed(() =>
    Effect.succeed({
      publish: (next) => (envelope, definition) => next(envelope, definition),
      delivery: (next) => (delivery) => next(delivery)
    })
  )
)

/** A pass-through delivery middleware alone: the delivery path's cost of composing one (issue target >= 0.9x). */
export const NoopDelivery: AnyPlugin = Plugin.make(
  "noop-delivery",
  Effect.succeed(() => Effect.succeed({ delivery: (next) => (delivery) => next(delivery) }))
)

const entry = (name: string, plugin: AnyPlugin, layer?: Layer.Layer<any, any>): Entry => ({
  name,
  load: async () => ({ plugin, layer })
})

/**
 * Batching is not here: it is a way to subscribe (`Batching.subscribe`), not a
 * middleware, so it adds nothing to a plain delivery.
 */
export const registry: ReadonlyArray<Entry> = [
  entry("noop", Noop),
  entry("noop delivery", NoopDelivery),
  entry("Validation", Validation.plugin()),
  entry("Redaction", Redaction.plugin()),
  entry("Dedup", Dedup.plugin()),
  entry("Metrics", Metrics.plugin()),
  entry("Tracing", Tracing.plugin()),
  entry("CircuitBreaker", CircuitBreaker.plugin()),
  entry("Retry", Retry.plugin()),
  entry("DeadLetter", DeadLetter.plugin(), DeadLetterQueue.layerMemory()),
  entry(
    "Audit",
    Audit.plugin({ directory: join(tmpdir(), `eventfabric-bench-audit-${process.pid}`) }),
    NodeFileSystem.layer
  )
]
