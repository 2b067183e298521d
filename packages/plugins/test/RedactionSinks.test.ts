import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Event, EventBus, Plugin } from "@eventfabric/core"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, FileSystem, Layer, Logger, References, Schema } from "effect"
import * as Audit from "../src/Audit.ts"
import * as DeadLetter from "../src/DeadLetter.ts"
import * as DeadLetterQueue from "../src/DeadLetterQueue.ts"
import * as Redaction from "../src/Redaction.ts"
import * as Tracing from "../src/Tracing.ts"
import { keyed, secrets } from "./fixtures/secrets.ts"

const Signup = Event.define("users.signed_up", {
  payload: Schema.Struct({ note: Schema.String, profile: Schema.Unknown })
})
const HandlerFailed = Event.define("system.handler_error", { payload: Schema.Unknown })

const leaked = (where: string, text: string) =>
  secrets.filter((x) => text.includes(x.secret)).map((x) => `${where} ${x.kind}: ${x.secret}`)

/**
 * The whole corpus through a bus with Redaction, DeadLetter, Audit and
 * Tracing, a handler that logs its payload and fails with it, and a
 * subscriber of the failure reports; then every sink is searched for every
 * secret.
 */
const run = (mode: "egress" | "subscribers") =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped()
    const logs: Array<string> = []
    const capture = Logger.make((options) => {
      logs.push(
        JSON.stringify({
          message: options.message,
          annotations: options.fiber.getRef(References.CurrentLogAnnotations)
        }) + String(options.cause)
      )
    })
    const exporter = new InMemorySpanExporter()
    const tracer = OtelTracer.layer.pipe(
      Layer.provide(
        Layer.succeed(
          OtelTracer.OtelTracerProvider,
          new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
        )
      )
    )
    const bus = EventBus.EventBus.layer().pipe(
      Layer.provide(
        Plugin.layer(
          Tracing.plugin({ sampleRatio: 1 }),
          Redaction.plugin({ mode }),
          Audit.plugin({ directory: dir }),
          DeadLetter.plugin()
        )
      ),
      Layer.provideMerge(DeadLetterQueue.layerMemory({ capacity: 1_000 }))
    )
    const reports: Array<unknown> = []
    const entries = yield* Effect.gen(function* () {
      const b = yield* EventBus.EventBus
      yield* b.subscribe(HandlerFailed, (e) => Effect.sync(() => reports.push(e.payload)), { name: "reports" })
      yield* b.subscribe(
        Signup,
        (e) =>
          Effect.logInfo(`signup ${e.payload.note}`).pipe(
            Effect.annotateLogs({ note: e.payload.note, correlation: e.correlationId ?? "" }),
            Effect.andThen(Effect.fail(new Error(`could not sign up ${e.payload.note}`)))
          ),
        { name: "signup" }
      )
      for (const x of secrets.filter((x) => x.kind !== "key")) {
        yield* b.publish(
          Signup,
          { note: x.text, profile: keyed(secrets) },
          { correlationId: x.text, source: `web ${x.text}`, headers: { authorization: x.text, "x-note": x.text } }
        )
      }
      yield* b.drain
      const dlq = yield* DeadLetterQueue.DeadLetterQueue
      return yield* dlq.list()
    }).pipe(Effect.provide(Layer.mergeAll(bus, tracer)), Effect.provide(Logger.layer([capture])), Effect.scoped)
    const audit = yield* fs.readFileString(`${dir}/events.jsonl`)
    const spans = exporter.getFinishedSpans().map((s) => JSON.stringify({ a: s.attributes, e: s.events }))
    const published = secrets.filter((x) => x.kind !== "key").length
    expect(entries.length).toBe(published)
    // A storm of failures is coalesced: one report per subscription, carrying the count.
    expect(reports.reduce((n: number, r) => n + (r as { count: number }).count, 0)).toBe(published)
    expect(logs.length).toBeGreaterThanOrEqual(published)
    expect(spans.length).toBeGreaterThanOrEqual(2 * published) // a publish and a delivery span per event
    return [
      ...leaked("dlq", JSON.stringify(entries)),
      ...leaked("audit", audit),
      ...leaked("logs", logs.join("\n")),
      ...leaked("system.handler_error", JSON.stringify(reports)),
      ...leaked("spans", spans.join("\n"))
    ]
  }).pipe(Effect.scoped, Effect.provide(NodeFileSystem.layer))

describe("redaction at every sink", () => {
  it.live(
    "egress mode (the default): no secret of the corpus reaches the DLQ, audit, logs, failure reports or spans",
    () => Effect.map(run("egress"), (leaks) => expect(leaks).toEqual([]))
  )
  it.live("subscribers mode: no secret reaches any sink either", () =>
    Effect.map(run("subscribers"), (leaks) => expect(leaks).toEqual([]))
  )
})
